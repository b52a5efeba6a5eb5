//! The behaviour suite (being written).
