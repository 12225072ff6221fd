//! Events in time order → runs (pure).

use super::scan::{Event, Kind, Pos};
use super::{Cause, End, Run};

/// The runs the events tell of, oldest first. The last run is left [`End::Running`] when no
/// line ended it (the caller decides from the live worker and the data dir's files); every
/// earlier run that no shutdown line ended got `end_pos`, where the next run began.
pub fn fold(events: &[Event]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    // The run no line has ended yet.
    let mut open: Option<usize> = None;
    // The version the next start will run (from the launcher's script path or a mismatch).
    let mut next_version: Option<String> = None;
    for e in events {
        match &e.kind {
            Kind::Launch { version } => {
                if version.is_some() {
                    next_version = version.clone();
                }
            }
            Kind::Start { pid } => {
                if let Some(i) = open {
                    if runs[i].pid == *pid {
                        // 13.x logs `HTTP server started` and `Worker started` for one process.
                        continue;
                    }
                    close_unended(&mut runs[i], e.pos);
                }
                runs.push(Run::begun(*pid, e.t, e.pos, next_version.take()));
                open = Some(runs.len() - 1);
            }
            Kind::Shutdown => {
                if let Some(i) = open.take() {
                    let r = &mut runs[i];
                    r.ended = Some(r.ended.unwrap_or(e.t).max(e.t));
                    if r.end != End::Replaced {
                        r.end = End::Clean;
                    }
                }
            }
            Kind::Signal(name) => {
                if let Some(i) = open {
                    runs[i].set_cause(Cause::Signal(name.clone()));
                }
            }
            Kind::Mismatch { worker, plugin } => {
                if let Some(i) = open {
                    let r = &mut runs[i];
                    r.end = End::Replaced;
                    r.ended = Some(e.t);
                    if r.version.is_none() {
                        r.version = worker.clone();
                    }
                    r.set_cause(Cause::VersionMismatch {
                        worker: worker.clone(),
                        plugin: plugin.clone(),
                    });
                }
                if plugin.is_some() {
                    next_version = plugin.clone();
                }
            }
            Kind::Supervisor { pid, reason } => {
                // The newest run of that PID (the supervisor speaks of the one it watched).
                if let Some(r) = runs.iter_mut().rev().take(4).find(|r| r.pid == *pid) {
                    r.set_cause(Cause::Supervisor(reason.clone()));
                }
            }
        }
    }
    runs
}

/// A run the next start found without a shutdown line: unclean, unless a hook's version
/// mismatch already made it replaced.
fn close_unended(r: &mut Run, next: Pos) {
    if r.end != End::Replaced {
        r.end = End::Unclean;
        r.end_pos = Some(next);
    }
}
