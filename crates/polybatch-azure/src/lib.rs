//! polybatch-azure (being written).
