//! `vcs-recorder`: record VCS compositions, inspect them, or run as a recorder pod.

use std::process::ExitCode;

fn main() -> ExitCode {
    one_openblas_thread();
    vcs_recorder::cli::main()
}

/// GStreamer's libav plugin links libavfilter, which (in Debian) links OpenBLAS, whose library
/// constructor starts a thread per core that spins on `sched_yield` waiting for matrix work the
/// recorder never gives it: 33 000 yields and about 1 % of a 10 s 4-up recording's CPU (perf,
/// issue 20). One thread means none is started. Left alone when the environment says otherwise.
#[expect(
    unsafe_code,
    reason = "set_var is unsafe once other threads may read the environment; this runs first \
              thing in main, before any thread exists"
)]
fn one_openblas_thread() {
    const VAR: &str = "OPENBLAS_NUM_THREADS";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: no other thread exists yet (see the expect's reason).
        unsafe { std::env::set_var(VAR, "1") };
    }
}
