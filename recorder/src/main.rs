//! `vcs-recorder`: record VCS compositions, inspect them, or run as a recorder pod.

use std::process::ExitCode;

fn main() -> ExitCode {
    vcs_recorder::cli::main()
}
