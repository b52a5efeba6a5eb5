//! Helpers shared by the end-to-end suites: one module per provider, each starting the emulator
//! on an ephemeral loopback port and building the real client against it.
//!
//! Every suite compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod aws;
pub mod aws_moto;
pub mod azure;
pub mod node;
pub mod python;
pub mod redis;
pub mod script;
pub mod tencent;
