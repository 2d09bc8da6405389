//! tests only
