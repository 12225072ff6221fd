//! The effects `update` asks for, and the runners of those that work off the UI thread (actions,
//! process jobs), answering with messages. The terminal's own (copy, pager, suspend) are applied
//! by the dashboard loop in `app/mod.rs`, which holds the terminal.

use std::time::Instant;

use super::msg::{Action, Msg, ProcJob, Tx};
use crate::config::Config;
use crate::procman::control::{self, Opts, StartOutcome, StopOutcome};
use crate::procman::spawn;

/// Work for the runtime: actions off the UI thread, and notes to sources.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Run(Action),
    WatchPid(Option<i32>),
    PokeHealth,
    /// Run a process job (K, X, A) off the UI thread.
    RunProc(ProcJob),
    /// The census source's note of the worker the PID file proves.
    CensusNamed(Option<i32>),
    /// Take the census again now.
    PokeCensus,
    /// Put text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Open this file in `$PAGER`, then come back.
    Pager(std::path::PathBuf),
    /// Ctrl-Z: give the terminal back, stop until `fg`, then come back whole.
    Suspend,
    /// Write the filtered log to a new file of this name in the current directory.
    Save {
        name: String,
        text: String,
    },
    /// Read the worker's runs from its logs (the live worker's is running).
    ReadHistory(Option<crate::procman::history::Live>),
    /// Search the memories, read the queue or the settings, or open the web viewer.
    Memory(super::memory::Job),
    /// Read another day's log, or search the log on disk (answered by `Msg::LogWindow`).
    LogFile(super::logfile::Job),
}

fn describe_start(o: StartOutcome) -> String {
    match o {
        StartOutcome::AlreadyRunning { pid, .. } => format!("already running (PID {pid})"),
        StartOutcome::Started { pid, child, .. } => {
            // We are long-lived: reap the worker when it exits, never leave a zombie.
            spawn::reap_in_background(child);
            format!("started PID {pid}")
        }
    }
}

fn describe_stop(o: StopOutcome) -> String {
    match o {
        StopOutcome::NotRunning { .. } => "was not running".into(),
        StopOutcome::Stopped { pid, killed, .. } => {
            format!(
                "stopped PID {pid}{}",
                if killed { " (SIGKILL)" } else { "" }
            )
        }
    }
}

pub fn run_action(cfg: Config, opts: Opts, action: Action, tx: Tx) {
    let _ = std::thread::Builder::new()
        .name(format!("action-{}", action.verb()))
        .spawn(move || {
            let t0 = Instant::now();
            let result = match action {
                Action::Start => control::start(&cfg, opts).map(describe_start),
                Action::Stop => control::stop(&cfg, opts).map(describe_stop),
                Action::Restart => control::restart(&cfg, opts)
                    .map(|(a, b)| format!("{}, {}", describe_stop(a), describe_start(b))),
            }
            .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string());
            let _ = tx.send(Msg::ActionDone {
                action,
                result,
                elapsed: t0.elapsed(),
            });
        });
}

/// How long each process gets after SIGTERM before SIGKILL (K and X).
const PROC_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// What `census::end` did, in one line.
fn describe_ended(done: &[crate::procman::census::Reaped]) -> Result<String, String> {
    use crate::procman::census::ReapOutcome;
    let mut ended = Vec::new();
    let mut left = Vec::new();
    for r in done {
        match r.outcome {
            ReapOutcome::Ended | ReapOutcome::Killed | ReapOutcome::Listed | ReapOutcome::Gone => {
                ended.push(r.pid.to_string())
            }
            ReapOutcome::Changed => left.push(format!("{} (no longer the same process)", r.pid)),
            ReapOutcome::NotOurs => left.push(format!("{} (another user's)", r.pid)),
            ReapOutcome::Survived => left.push(format!("{} (still alive)", r.pid)),
        }
    }
    let mut text = format!("ended PID {}", ended.join(", "));
    if ended.is_empty() {
        text = "ended nothing".into();
    }
    if left.is_empty() {
        Ok(text)
    } else {
        Err(format!("{text}; left alone PID {}", left.join(", ")))
    }
}

pub fn run_proc(cfg: Config, job: ProcJob, tx: Tx) {
    let _ = std::thread::Builder::new()
        .name("proc-job".into())
        .spawn(move || {
            use crate::procman::census;
            let result = match &job {
                ProcJob::End(ms) | ProcJob::Reap(ms) => {
                    let refs: Vec<&census::Member> = ms.iter().collect();
                    describe_ended(&census::end(&refs, PROC_GRACE, false))
                }
                ProcJob::Adopt(w) => crate::procman::adopt::adopt(&cfg, Some(w))
                    .map(|a| format!("PID {} recorded in the PID file", a.pid))
                    .map_err(|e| e.to_string()),
            };
            let _ = tx.send(Msg::ProcDone { job, result });
        });
}
