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
    // The configured command is never empty (the config refuses one); an empty one matches
    // nothing rather than everything.
    let Some((want0, want_rest)) = cmd.argv.split_first() else {
        return false;
    };
    let fits = |got: &[String]| match got.split_first() {
        Some((got0, got_rest)) => {
            base(got0) == base(want0) && got_rest.get(..want_rest.len()) == Some(want_rest)
        }
        None => false,
    };
    // A script with a `#!` line runs as `interpreter script args…`.
    fits(argv) || argv.split_first().is_some_and(|(_, rest)| fits(rest))
}

/// Why a claim is stale: each way a PID can fail to be our worker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotProven {
    #[error("PID {0} is init, never the worker")]
    Init(i32),
    #[error("process {0} is not running")]
    Gone(i32),
    #[error("process {0} has exited (zombie)")]
    Zombie(i32),
    #[error("PID {pid} now belongs to another process (start token {now} ≠ recorded {recorded})")]
    OtherToken {
        pid: i32,
        now: StartToken,
        recorded: StartToken,
    },
    #[error("process {0} started after its PID file was written: the PID was reused")]
    StartedAfterRecord(i32),
    #[error("process {pid} is not the worker ({command})")]
    NotTheWorker { pid: i32, command: String },
}

/// Prove a claim. `Err` says why it is stale.
pub fn prove(claim: &Claim, cmd: &WorkerCmd) -> Result<Proven, NotProven> {
    let pid = claim.pid;
    if pid <= 1 {
        return Err(NotProven::Init(pid));
    }
    let Some(info) = platform::proc_info(pid) else {
        return Err(NotProven::Gone(pid));
    };
    if info.zombie {
        return Err(NotProven::Zombie(pid));
    }
    let started = info.started;
    match claim.start_token {
        Some(token) if token != info.start => {
            return Err(NotProven::OtherToken {
                pid,
                now: info.start,
                recorded: token,
            });
        }
        Some(_) => {}
        None => {
            if let Some(st) = started {
                if st > claim.written + START_SLACK {
                    return Err(NotProven::StartedAfterRecord(pid));
                }
            }
        }
    }
    if !matches_worker(&info.cmdline, cmd) {
        return Err(NotProven::NotTheWorker {
            pid,
            command: info.command(),
        });
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
        let e = prove(&me, &c).unwrap_err();
        assert!(matches!(e, NotProven::NotTheWorker { .. }), "{e}");
        assert!(e.to_string().contains("not the worker"));
        let init = Claim {
            pid: 1,
            ..me.clone()
        };
        assert_eq!(prove(&init, &c).unwrap_err(), NotProven::Init(1));
        let old = Claim {
            written: SystemTime::UNIX_EPOCH,
            ..me
        };
        let e = prove(&old, &c).unwrap_err();
        assert!(matches!(e, NotProven::StartedAfterRecord(_)), "{e}");
        assert!(e.to_string().contains("reused"));
    }
}
