//! The identity proof, tested against real processes (issue 17's mutants): the strict start
//! bound, the exact start token, the last-moment re-check and the group decision.

// Real `sleep` children and `setsid`: Unix (Windows has no process groups to lead).
#![cfg(unix)]

#[allow(unused_imports)]
use crate::common;

use std::time::{Duration, SystemTime};

use claude_mem_top::config::WorkerCmd;
use claude_mem_top::platform::{self, ProcInfo, StartToken};
use claude_mem_top::procman::identity::{prove, still_same, Claim, NotProven, Proven, START_SLACK};

fn cmd(s: &str) -> WorkerCmd {
    WorkerCmd::parse(s, "test").expect("cmd")
}

/// A child of this test running `sleep 600`, killed and reaped on drop.
struct Sleeper(std::process::Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sleeper(detached: bool) -> Sleeper {
    let mut c = std::process::Command::new("sleep");
    c.arg("600");
    if detached {
        platform::detach(&mut c);
    }
    Sleeper(c.spawn().expect("spawn sleep"))
}

fn wait_info(pid: i32) -> ProcInfo {
    let mut found = None;
    common::wait_until(
        Duration::from_secs(10),
        &format!("sleep {pid} in the table"),
        || {
            found = platform::proc_info(pid)
                .filter(|i| i.cmdline.first().is_some_and(|a| a == "sleep"));
            found.is_some()
        },
    );
    found.expect("waited for it")
}

// The start-time bound: a PID file written exactly START_SLACK before the process started is
// still its record (the bound is strict), a moment earlier it is not.
#[test]
fn the_start_bound_is_strict_and_a_token_must_match_exactly() {
    let s = sleeper(false);
    let pid = s.0.id() as i32;
    let info = wait_info(pid);
    let started = info.started.expect("start time");
    let c = cmd("sleep 600");
    let at_bound = Claim {
        pid,
        written: started - START_SLACK,
        start_token: None,
    };
    assert!(
        prove(&at_bound, &c).is_ok(),
        "{:?}",
        prove(&at_bound, &c).err()
    );
    let before = Claim {
        written: started - START_SLACK - Duration::from_secs(1),
        ..at_bound.clone()
    };
    assert_eq!(
        prove(&before, &c).unwrap_err(),
        NotProven::StartedAfterRecord(pid)
    );
    // A start token decides alone, and only an exact one passes.
    let exact = Claim {
        written: SystemTime::UNIX_EPOCH,
        start_token: Some(info.start),
        ..at_bound.clone()
    };
    assert!(prove(&exact, &c).is_ok());
    let off = Claim {
        start_token: Some(StartToken::from_raw(info.start.raw() + 1)),
        ..exact
    };
    assert!(matches!(
        prove(&off, &c).unwrap_err(),
        NotProven::OtherToken { .. }
    ));
}

// The last-moment re-check: a proof whose process was replaced (another start under the same
// PID) must fail it, and the live one must pass.
#[test]
fn the_recheck_before_a_signal_fails_for_a_replaced_process() {
    let s = sleeper(false);
    let pid = s.0.id() as i32;
    let info = wait_info(pid);
    let live = Proven {
        pid,
        info: info.clone(),
    };
    assert!(still_same(&live));
    let replaced = Proven {
        pid,
        info: ProcInfo {
            start: StartToken::from_raw(info.start.raw().wrapping_sub(1)),
            ..info
        },
    };
    assert!(
        !still_same(&replaced),
        "a replaced process passed the re-check"
    );
    drop(s);
    assert!(!still_same(&live), "an exited process passed the re-check");
}

// The group decision: only a process that leads its own session and group (we started it
// with setsid) may have its group signalled.
#[test]
fn only_a_detached_worker_leads_its_group() {
    let plain = sleeper(false);
    let detached = sleeper(true);
    let p = Proven {
        pid: plain.0.id() as i32,
        info: wait_info(plain.0.id() as i32),
    };
    let d = Proven {
        pid: detached.0.id() as i32,
        info: wait_info(detached.0.id() as i32),
    };
    assert!(!p.leads_group(), "a child in our group claimed to lead it");
    assert!(d.leads_group(), "a setsid child does not lead its group");
}

// What a proof hands on: the process's command line and its owner, read from the process, not
// from the claim. As root, the sleeper runs as `nobody` so the owner cannot be ours by chance.
#[test]
fn a_proof_carries_the_processes_own_command_line_and_owner() {
    use std::os::unix::process::CommandExt;
    let root = platform::current_uid() == Some(0);
    let mut c = std::process::Command::new("sleep");
    c.args(["600", "1"]);
    if root {
        c.uid(65534).gid(65534);
    }
    let s = Sleeper(c.spawn().expect("spawn sleep"));
    let pid = s.0.id() as i32;
    wait_info(pid);
    let claim = Claim {
        pid,
        written: SystemTime::now() + Duration::from_secs(60),
        start_token: None,
    };
    // A `#!` script runs as `interpreter script args`: the worker command may follow one word.
    let p = prove(&claim, &cmd("600 1")).expect("proven after the interpreter");
    assert_eq!(p.argv(), ["sleep", "600", "1"]);
    let p = prove(&claim, &cmd("sleep 600")).expect("proven");
    assert_eq!(p.argv(), ["sleep", "600", "1"]);
    if root {
        assert_eq!(p.uid(), Some(65534));
    } else {
        assert_eq!(p.uid(), platform::current_uid());
        common::skip(
            "a_proof_carries_the_processes_own_command_line_and_owner (other owner)",
            "running a process as another user needs root; only our own uid was checked",
        );
    }
    // One word is not the interpreter's argument list: `sleep` alone is not `sleep 600`.
    assert!(prove(&claim, &cmd("sleep 600 1 extra")).is_err());
}
