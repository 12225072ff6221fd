//! "Is PID N our worker?" A PID is the worker only if it is > 1, alive, not a zombie, the
//! recorded process (same start token, or started no later than its PID file was written), and
//! runs the worker command. Anything else is stale: reported, never signalled.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::WorkerCmd;
use crate::platform::{self, ProcInfo, StartToken};

/// Clock rounding allowed between a process's start time (whole seconds of `btime`) and its PID
/// file's mtime.
pub const START_SLACK: Duration = Duration::from_secs(2);

/// What a PID file claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub pid: i32,
    /// When the record was written (file mtime or `startedAt`).
    pub written: SystemTime,
    /// An exact start token, when the record has one.
    pub start_token: Option<StartToken>,
}

/// A process proven to be the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub pid: i32,
    pub info: ProcInfo,
}

impl Proven {
    /// We started it detached: it leads its own session and process group.
    pub fn leads_group(&self) -> bool {
        self.info.leads_group
    }

    pub fn token(&self) -> StartToken {
        self.info.start
    }

    pub fn argv(&self) -> &[String] {
        &self.info.cmdline
    }

    pub fn started(&self) -> Option<SystemTime> {
        self.info.started
    }

    pub fn uid(&self) -> Option<u32> {
        self.info.owner
    }
}

fn base(s: &str) -> &str {
    Path::new(s)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(s)
}

/// Does this argv run the worker command?
pub fn matches_worker(argv: &[String], cmd: &WorkerCmd) -> bool {
    if argv.is_empty() {
        return false;
    }
    if let Some(script) = &cmd.script {
        let name = script.file_name().and_then(|n| n.to_str()).unwrap_or("");
        return argv.iter().any(|a| base(a) == name);
    }
    let want = &cmd.argv;
    let fits = |got: &[String]| {
        got.len() >= want.len()
            && base(&got[0]) == base(&want[0])
            && got[1..want.len()] == want[1..]
    };
    // A script with a `#!` line runs as `interpreter script args…`.
    fits(argv) || (argv.len() > 1 && fits(&argv[1..]))
}

/// Prove a claim. `Err` carries the reason it is stale.
pub fn prove(claim: &Claim, cmd: &WorkerCmd) -> Result<Proven, String> {
    let pid = claim.pid;
    if pid <= 1 {
        return Err(format!("PID {pid} is init, never the worker"));
    }
    let Some(info) = platform::proc_info(pid) else {
        return Err(format!("process {pid} is not running"));
    };
    if info.zombie {
        return Err(format!("process {pid} has exited (zombie)"));
    }
    let started = info.started;
    match claim.start_token {
        Some(token) if token != info.start => {
            return Err(format!(
                "PID {pid} now belongs to another process (start token {} ≠ recorded {token})",
                info.start
            ));
        }
        Some(_) => {}
        None => {
            if let Some(st) = started {
                if st > claim.written + START_SLACK {
                    return Err(format!(
                        "process {pid} started after its PID file was written: the PID was reused"
                    ));
                }
            }
        }
    }
    if !matches_worker(&info.cmdline, cmd) {
        return Err(format!(
            "process {pid} is not the worker ({})",
            info.command()
        ));
    }
    Ok(Proven { pid, info })
}

/// Check again, right before a signal, that the PID still is the same process.
pub fn still_same(p: &Proven) -> bool {
    platform::is_same(p.pid, p.info.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> WorkerCmd {
        WorkerCmd::parse(s, "test").expect("cmd")
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn argv_matching() {
        let c = cmd("/usr/bin/claude-mem-top stand-in-worker --mode spec");
        assert!(matches_worker(
            &v(&[
                "/usr/bin/claude-mem-top",
                "stand-in-worker",
                "--mode",
                "spec"
            ]),
            &c
        ));
        assert!(matches_worker(
            &v(&["claude-mem-top", "stand-in-worker", "--mode", "spec", "x"]),
            &c
        ));
        assert!(!matches_worker(
            &v(&["claude-mem-top", "stand-in-worker"]),
            &c
        ));
        assert!(!matches_worker(&v(&["sleep", "100"]), &c));
        assert!(!matches_worker(&[], &c));
        let sh = cmd("/tmp/w.sh a");
        assert!(matches_worker(&v(&["/bin/sh", "/tmp/w.sh", "a"]), &sh));
        let bun = WorkerCmd::default_for(Path::new("/home/u"));
        assert!(matches_worker(
            &v(&[
                "bun",
                "/home/u/.claude/plugins/marketplaces/thedotmack/plugin/scripts/worker-service.cjs"
            ]),
            &bun
        ));
        assert!(!matches_worker(&v(&["bun", "other.js"]), &bun));
    }

    #[test]
    fn own_process_fails_command_check_and_pid1_never_proven() {
        let c = cmd("/nonexistent/worker");
        let me = Claim {
            pid: std::process::id() as i32,
            written: SystemTime::now(),
            start_token: None,
        };
        assert!(prove(&me, &c).unwrap_err().contains("not the worker"));
        let init = Claim {
            pid: 1,
            ..me.clone()
        };
        assert!(prove(&init, &c).is_err());
        let old = Claim {
            written: SystemTime::UNIX_EPOCH,
            ..me
        };
        assert!(prove(&old, &c).unwrap_err().contains("reused"));
    }

    /// A child of this test running `sleep 600`, killed and reaped on drop.
    #[cfg(unix)]
    struct Sleeper(std::process::Child);

    #[cfg(unix)]
    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[cfg(unix)]
    fn sleeper(detached: bool) -> Sleeper {
        let mut c = std::process::Command::new("sleep");
        c.arg("600");
        if detached {
            platform::detach(&mut c);
        }
        Sleeper(c.spawn().expect("spawn sleep"))
    }

    #[cfg(unix)]
    fn wait_info(pid: i32) -> ProcInfo {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(i) =
                platform::proc_info(pid).filter(|i| i.cmdline.first().is_some_and(|a| a == "sleep"))
            {
                return i;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "sleep {pid} never showed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    // The start-time bound: a PID file written exactly START_SLACK before the process started is
    // still its record (the bound is strict), a moment earlier it is not.
    #[cfg(unix)]
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
        assert!(prove(&before, &c).unwrap_err().contains("reused"));
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
        assert!(prove(&off, &c).unwrap_err().contains("another process"));
    }

    // The last-moment re-check: a proof whose process was replaced (another start under the same
    // PID) must fail it, and the live one must pass.
    #[cfg(unix)]
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
    #[cfg(unix)]
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
}
