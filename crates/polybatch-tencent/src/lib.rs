//! polybatch-tencent (being written).
