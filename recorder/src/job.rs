//! The job spec, and reading one from a file.

pub use vcs_job::*;
