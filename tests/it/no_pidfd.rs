//! Without pidfds (old kernels, gVisor, a seccomp filter: `pidfd_open` fails with ENOSYS), `start`,
//! `stop` and `supervise` still work: they wait by polling the proven identity.
//!
//! Linux only: the filter is a real seccomp BPF program installed in each child before exec (and
//! inherited by everything it spawns, the worker included).
#![cfg(target_os = "linux")]

#[allow(unused_imports)]
use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{alive, run, wait_until, Env, CALL};

const LIMIT: Duration = Duration::from_secs(30);
/// `pidfd_open` has the same number on every architecture (the unified syscall table).
const NR_PIDFD_OPEN: u32 = 434;
const ENOSYS: u32 = 38;

/// Make `c` run under a seccomp filter that fails `pidfd_open` with ENOSYS.
fn without_pidfd(c: &mut Command) {
    // BPF: load the syscall number; ENOSYS for pidfd_open, allow everything else.
    const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
    const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    let filter = [
        libc::sock_filter {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0, // offsetof(struct seccomp_data, nr)
        },
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: NR_PIDFD_OPEN,
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ERRNO | ENOSYS,
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        },
    ];
    // SAFETY: only prctl between fork and exec; the program lives in the closure.
    unsafe {
        c.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn cmd(env: &Env, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    without_pidfd(&mut c);
    c
}

#[test]
fn the_filter_really_blocks_pidfd_open() {
    let mut c = Command::new("python3");
    c.args([
        "-c",
        "import os, sys\ntry:\n os.pidfd_open(os.getpid())\nexcept OSError as e:\n sys.exit(e.errno)\nsys.exit(0)",
    ]);
    without_pidfd(&mut c);
    let st = c.status().expect("python3");
    assert_eq!(
        st.code(),
        Some(ENOSYS as i32),
        "pidfd_open under the filter"
    );
}

#[test]
fn start_stop_and_a_worker_that_ignores_sigterm_without_pidfd() {
    let env = Env::stand_in("--ignore-sigterm");
    let out = run(cmd(&env, &["start"]), CALL);
    out.code(0);
    let pid = env.pid().expect("worker pid");
    run(cmd(&env, &["status"]), CALL).code(0);
    // Before the fix this refused with "exited before it could be signalled".
    let stop = run(cmd(&env, &["stop", "--grace", "1s"]), CALL);
    stop.code(0);
    assert!(stop.stdout.contains(&pid.to_string()), "{}", stop.both());
    wait_until(LIMIT, "the worker gone", || !alive(pid));
    // The grace period was waited out in full, not cut short, before SIGKILL.
    assert!(
        stop.elapsed >= Duration::from_secs(1),
        "stop took {:?}",
        stop.elapsed
    );
    run(cmd(&env, &["status"]), CALL).code(3);
}

#[test]
fn supervise_watches_an_adopted_worker_without_pidfd() {
    let env = Env::stand_in("");
    run(cmd(&env, &["start"]), CALL).code(0);
    let first = env.pid().expect("worker pid");
    let mut sup = cmd(&env, &["supervise", "--health-interval", "200ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervise");
    wait_until(LIMIT, "supervise watching the worker", || {
        let s = env.supervise_state();
        s["state"] == "running" && s["worker_pid"] == first
    });
    // Before the fix the adopted worker read as exited at once: a restart, then FATAL.
    assert_eq!(env.supervise_state()["restarts_total"], 0);
    assert!(alive(first));
    // A crash (the test started this worker): noticed by polling and restarted.
    common::signal(first, libc::SIGKILL);
    wait_until(LIMIT, "a new worker", || {
        env.pid().is_some_and(|p| p != first && alive(p))
            && env.supervise_state()["restarts_total"] == 1
    });
    common::signal(sup.id() as i32, libc::SIGTERM);
    let st = sup.wait().expect("supervise exits");
    assert_eq!(st.code(), Some(0));
}
