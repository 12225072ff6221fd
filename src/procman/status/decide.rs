//! The status read's decisions, with no I/O: which PID record counts, which port is asked, what
//! the process layer makes of the proof and the ownership, and which state follows from the
//! worker's answer. `read.rs` and `probe.rs` gather the facts (files, proofs, owners, answers)
//! and carry the verdicts out; nothing here touches the disk, the process table or the network.

use std::path::Path;

use super::{Check, Found, Layer, Record, Since, Worker};
use crate::config::PortSource;
use crate::procman::health::{Probe, ProbeError};
use crate::procman::identity::{NotProven, Proven};
use crate::procman::ownership::{Elsewhere, Owner};

/// What a wedged listener does.
pub const WEDGED: &str = "accepts connections but does not answer HTTP";

/// `GET /health: no answer within 1000 ms: port N accepts connections but does not answer
/// HTTP (wedged)`.
pub(super) fn wedged_reason(probe: &Probe, port: u16) -> String {
    format!(
        "GET /health: {}: port {port} {WEDGED} (wedged)",
        probe.detail()
    )
}

/// Connected, and then no answer in time.
pub(super) fn wedged(probe: &Probe) -> bool {
    matches!(probe.result, Err(ProbeError::ReadTimeout(_)))
}

/// The record that counts, of those found in layout order (spec before JSON), each with
/// whether its worker is proven alive: the first proven one, else the first.
pub(super) fn pick(proven: impl IntoIterator<Item = bool>) -> usize {
    proven.into_iter().position(|p| p).unwrap_or_default()
}

/// The port to ask: the one the record names, else the configured one. True as well when the
/// record contradicts a port set on purpose (a flag, the environment, the settings): that is
/// worth a warning, though the record still wins.
pub(super) fn port_to_ask(
    recorded: Option<u16>,
    configured: u16,
    source: &PortSource,
) -> (u16, bool) {
    match recorded {
        Some(p) => (p, p != configured && *source != PortSource::Default),
        None => (configured, false),
    }
}

/// What the process layer makes of the chosen record.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Process {
    /// The record names no worker of this data dir's: it is stale. `elsewhere`: it names a live
    /// worker that is another's (the record's port is then that worker's, not this data dir's).
    Stale {
        reason: String,
        elsewhere: Option<Elsewhere>,
    },
    /// This data dir's worker, alive: ask it.
    Ours(Proven),
}

/// The identity proof of a record and, when it proved a worker, whose that worker is.
pub(super) type Proof = Result<(Proven, Owner), NotProven>;

/// The process layer's check and verdict, from the identity proof of the record at `path` and,
/// when it proved a worker, whose that worker is. A PID file can be a copy of another data
/// dir's, and another user's worker is never ours.
pub(super) fn process(path: &Path, proof: Proof) -> (Check, Process) {
    match proof {
        Err(why) => {
            let reason = why.to_string();
            (
                Check::new(Layer::Process, false, reason.clone()),
                Process::Stale {
                    reason,
                    elsewhere: None,
                },
            )
        }
        Ok((proven, owner)) => match owner.whose() {
            Some(whose) => {
                let reason = format!(
                    "PID {} is {whose}, not this data dir's ({} is a copy or left over)",
                    proven.pid,
                    path.display()
                );
                (
                    Check::new(Layer::Process, false, reason.clone()),
                    Process::Stale {
                        reason,
                        elsewhere: Some(Elsewhere {
                            pid: Some(proven.pid),
                            owner,
                        }),
                    },
                )
            }
            None => (
                Check::new(
                    Layer::Process,
                    true,
                    format!("PID {} alive ({})", proven.pid, proven.info.name),
                ),
                Process::Ours(proven),
            ),
        },
    }
}

/// The state of a proven worker of this data dir's, from its `/health` answer on `port`.
pub(super) fn answered(found: Found, probe: &Probe, port: u16) -> Worker {
    if probe.healthy() {
        Worker::Running(found)
    } else {
        Worker::Unhealthy {
            found: Some(found),
            stale: None,
            reason: if wedged(probe) {
                wedged_reason(probe, port)
            } else {
                format!("GET /health: {}", probe.detail())
            },
        }
    }
}

/// No PID file proves a worker (none, or `stale`, which failed for `why`): the state follows
/// from what answers on `port`. `taken`: the listener is a worker that is not this data dir's.
/// `since` (when the listener started) is asked only of an unmanaged worker. Returns the state
/// and, when the port is taken, whose it is. "Not running" only when nothing answers.
pub(super) fn on_port(
    port: u16,
    probe: &Probe,
    taken: Option<Elsewhere>,
    stale: Option<Record>,
    why: Option<String>,
    since: impl FnOnce() -> Since,
) -> (Worker, Option<Elsewhere>) {
    if let Some(holder) = taken {
        let mut reason = format!("port {port} is held by {holder}");
        if let Some(why) = why {
            reason.push_str(&format!("; the PID file is stale ({why})"));
        }
        return (Worker::Taken { stale, reason }, Some(holder));
    }
    let worker = if wedged(probe) {
        Worker::Unhealthy {
            found: None,
            stale,
            reason: wedged_reason(probe, port),
        }
    } else if probe.healthy() {
        Worker::Unmanaged {
            since: since(),
            stale,
            reason: match why {
                Some(why) => {
                    format!("a worker answers on port {port} but the PID file is stale ({why})")
                }
                None => format!("a worker answers on port {port} but no PID file names it"),
            },
        }
    } else if let Some(reason) = why {
        Worker::Stale {
            record: stale,
            reason,
        }
    } else {
        Worker::Stopped
    };
    (worker, None)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::super::tests::{proven, record};
    use super::super::State;
    use super::*;
    use crate::procman::health::Response;

    fn probe(result: Result<Response, ProbeError>) -> Probe {
        Probe {
            result,
            latency: Duration::from_millis(3),
        }
    }

    fn http(status: u16, truncated: bool) -> Probe {
        probe(Ok(Response {
            status,
            body: br#"{"status":"ok"}"#.to_vec(),
            truncated,
        }))
    }

    fn root() -> Elsewhere {
        Elsewhere {
            pid: Some(9),
            owner: Owner::OtherUser {
                uid: 0,
                user: Some("root".into()),
                data_dir: None,
            },
        }
    }

    const GONE: &str = "process 5 is not running";

    #[test]
    fn the_first_proven_record_counts_else_the_first() {
        for (proven, want) in [
            (vec![], 0),
            (vec![false], 0),
            (vec![false, false], 0),
            (vec![true, false], 0),
            (vec![false, true], 1),
            (vec![true, true], 0),
        ] {
            assert_eq!(pick(proven.clone()), want, "{proven:?}");
        }
    }

    #[test]
    fn the_record_names_the_port_and_a_port_set_on_purpose_warns() {
        let settings = PortSource::Settings(PathBuf::from("/d/settings.json"));
        for (recorded, source, want) in [
            (None, PortSource::Default, (40000, false)),
            (None, PortSource::Flag, (40000, false)),
            (Some(40000), PortSource::Flag, (40000, false)),
            (Some(40001), PortSource::Default, (40001, false)),
            (Some(40001), PortSource::Flag, (40001, true)),
            (Some(40001), PortSource::Env, (40001, true)),
            (Some(40001), settings, (40001, true)),
        ] {
            assert_eq!(
                port_to_ask(recorded, 40000, &source),
                want,
                "{recorded:?} {source:?}"
            );
        }
    }

    #[test]
    fn the_process_layer_follows_the_proof_and_the_owner() {
        let path = Path::new("/d/.worker.pid");
        let other_dir = Owner::OtherDataDir {
            data_dir: "/x".into(),
        };
        let cases: [(Proof, bool, Option<&str>, bool); 5] = [
            (Err(NotProven::Gone(5)), false, Some(GONE), false),
            (Ok((proven(42, None), Owner::Ours)), true, None, false),
            (Ok((proven(42, None), Owner::Unread)), true, None, false),
            (
                Ok((proven(42, None), other_dir)),
                false,
                Some("PID 42 is the worker of data dir /x, not this data dir's (/d/.worker.pid is a copy or left over)"),
                true,
            ),
            (
                Ok((proven(42, None), root().owner)),
                false,
                Some("PID 42 is user root's worker, not this data dir's (/d/.worker.pid is a copy or left over)"),
                true,
            ),
        ];
        for (proof, ok, stale, elsewhere) in cases {
            let (check, verdict) = process(path, proof.clone());
            assert_eq!((check.name, check.ok), (Layer::Process, ok), "{proof:?}");
            match verdict {
                Process::Ours(p) => {
                    assert_eq!(stale, None, "{proof:?}");
                    assert_eq!(check.detail, "PID 42 alive (bun)");
                    assert_eq!(p.pid, 42);
                }
                Process::Stale {
                    reason,
                    elsewhere: whose,
                } => {
                    assert_eq!(Some(reason.as_str()), stale, "{proof:?}");
                    assert_eq!(check.detail, reason);
                    assert_eq!(whose.is_some(), elsewhere, "{proof:?}");
                    if let Some(e) = whose {
                        assert_eq!(e.pid, Some(42));
                    }
                }
            }
        }
    }

    #[test]
    fn a_proven_worker_is_running_only_on_a_200() {
        for (answer, state, reason) in [
            (http(200, false), State::Running, None),
            (
                http(500, false),
                State::Unhealthy,
                Some("GET /health: HTTP 500"),
            ),
            (
                http(200, true),
                State::Unhealthy,
                Some("GET /health: HTTP 200 with a response larger than 64 KB"),
            ),
            (
                probe(Err(ProbeError::Refused)),
                State::Unhealthy,
                Some("GET /health: connection refused"),
            ),
            (
                probe(Err(ProbeError::ReadTimeout(1000))),
                State::Unhealthy,
                Some("GET /health: no answer within 1000 ms: port 40000 accepts connections but does not answer HTTP (wedged)"),
            ),
        ] {
            let w = answered(Found::new(proven(42, None), record(42)), &answer, 40000);
            assert_eq!((w.state(), w.reason()), (state, reason), "{answer:?}");
            assert_eq!(w.found().map(|f| f.proven.pid), Some(42));
        }
    }

    #[test]
    fn without_a_proven_worker_the_port_decides() {
        let wedged = "GET /health: no answer within 1000 ms: port 40000 accepts connections but does not answer HTTP (wedged)";
        let held = "port 40000 is held by PID 9, user root's worker";
        let held_stale = "port 40000 is held by PID 9, user root's worker; the PID file is stale (process 5 is not running)";
        let unmanaged = "a worker answers on port 40000 but no PID file names it";
        let unmanaged_stale =
            "a worker answers on port 40000 but the PID file is stale (process 5 is not running)";
        // (taken, answer, a stale file) → state, reason
        let cases = [
            (
                false,
                probe(Err(ProbeError::Refused)),
                false,
                State::Stopped,
                None,
            ),
            (
                false,
                probe(Err(ProbeError::Refused)),
                true,
                State::Stale,
                Some(GONE),
            ),
            (false, http(500, false), false, State::Stopped, None),
            (false, http(500, false), true, State::Stale, Some(GONE)),
            (
                false,
                http(200, false),
                false,
                State::Unmanaged,
                Some(unmanaged),
            ),
            (
                false,
                http(200, false),
                true,
                State::Unmanaged,
                Some(unmanaged_stale),
            ),
            (false, http(200, true), false, State::Stopped, None),
            (
                false,
                probe(Err(ProbeError::ReadTimeout(1000))),
                false,
                State::Unhealthy,
                Some(wedged),
            ),
            (
                false,
                probe(Err(ProbeError::ReadTimeout(1000))),
                true,
                State::Unhealthy,
                Some(wedged),
            ),
            (true, http(200, false), false, State::Taken, Some(held)),
            (true, http(200, false), true, State::Taken, Some(held_stale)),
            (
                true,
                probe(Err(ProbeError::ReadTimeout(1000))),
                false,
                State::Taken,
                Some(held),
            ),
        ];
        for (taken, answer, stale_file, state, reason) in cases {
            let asked = Cell::new(0);
            let (w, whose) = on_port(
                40000,
                &answer,
                taken.then(root),
                stale_file.then(|| record(5)),
                stale_file.then(|| GONE.to_string()),
                || {
                    asked.set(asked.get() + 1);
                    Since::default()
                },
            );
            let case = format!("taken {taken}, {answer:?}, stale file {stale_file}");
            assert_eq!((w.state(), w.reason()), (state, reason), "{case}");
            assert_eq!(whose, taken.then(root), "{case}");
            // The listener's start time is read only for an unmanaged worker.
            assert_eq!(
                asked.get(),
                usize::from(state == State::Unmanaged),
                "{case}"
            );
            // The stale file stays with the state (a stopped one has none to keep).
            let kept = match &w {
                Worker::Unhealthy { stale, .. }
                | Worker::Unmanaged { stale, .. }
                | Worker::Taken { stale, .. }
                | Worker::Stale { record: stale, .. } => stale.is_some(),
                _ => false,
            };
            assert_eq!(kept, stale_file, "{case}");
        }
    }
}
