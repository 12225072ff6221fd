//! The three layers, read once: PID file → process → `GET /health`. Pure reading: status never
//! creates, changes or removes anything.
//!
//! This file holds the types (what a read found, [`Worker`], and the [`Status`] that carries it)
//! and the entry point [`status`]; the rest has a room each:
//! - `read.rs`: the disk and process-table side (the data dir, the PID and port files of every
//!   layout, the identity proofs, the ownership of a proven worker);
//! - `probe.rs`: the worker's HTTP side (the round of requests, sent while a second thread
//!   scans the process table for the census; who listens on the port when no PID file proves a
//!   worker);
//! - `decide.rs`: the decisions between them, with no I/O (which record counts, which port is
//!   asked, which state follows from the proof, the ownership and the answer);
//! - `extras.rs`: what `status` shows besides the layers ([`Extras`], [`LocalExtras`]);
//! - `report.rs`: the labels, the exit codes and the `--json` [`Report`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::api::ApiInfo;
use super::census::Member;
use super::files;
use super::health::{self, Probe};
use super::identity::{Claim, Proven};
use super::ownership::Elsewhere;
use super::pipeline::{self, Pipeline};
use super::pm2::Pm2Leftovers;
use crate::config::{Config, PortSource};
use crate::platform::PortHolder;

mod decide;
mod extras;
mod probe;
mod read;
mod report;

pub use decide::WEDGED;
pub use extras::{Extras, LocalExtras};
pub use read::{has_v13_files, v13_default_port};
pub use report::{fmt_uptime, Report, SCHEMA_VERSION};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Unhealthy,
    Stale,
    Stopped,
    Unmanaged,
    /// The port is held by a worker that is not this data dir's (another data dir's, or
    /// another user's): never ours to adopt, stop or count.
    Taken,
    Unknown,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Running,
        State::Unhealthy,
        State::Stale,
        State::Stopped,
        State::Unmanaged,
        State::Taken,
        State::Unknown,
    ];
}

/// Which claude-mem file layout the data dir holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// `.worker.pid` + `.worker.port` (the 7.1.0 spec; what we write).
    #[serde(rename = "spec")]
    Spec,
    /// `worker.pid` JSON without a start token (released 7.x–12.x).
    #[serde(rename = "7.x")]
    V7,
    /// `worker.pid` JSON with `startToken`, `supervisor.json` (13.x).
    #[serde(rename = "13.x")]
    V13,
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: Layer,
    pub ok: bool,
    pub detail: String,
    pub latency_ms: Option<f64>,
}

/// The three health layers, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    PidFile,
    Process,
    Http,
}

impl Check {
    /// A check that took no measured time (the file and process layers).
    pub fn new(name: Layer, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok,
            detail: detail.into(),
            latency_ms: None,
        }
    }
}

/// A PID record found in the data dir.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub layout: Layout,
    pub path: PathBuf,
    pub claim: Claim,
    pub port: Option<u16>,
    pub version: Option<String>,
}

/// When a process started, as a status read saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Since {
    /// ISO time.
    pub started_at: Option<String>,
    pub uptime_seconds: Option<u64>,
}

impl Since {
    /// `t`, read now.
    pub fn of(t: Option<SystemTime>) -> Since {
        match t {
            None => Since::default(),
            Some(t) => Since {
                started_at: Some(to_iso(t)),
                uptime_seconds: Some(
                    SystemTime::now()
                        .duration_since(t)
                        .unwrap_or_default()
                        .as_secs(),
                ),
            },
        }
    }
}

/// The worker a PID file names, proven to be it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub proven: Proven,
    pub record: Record,
    pub since: Since,
}

impl Found {
    pub fn new(proven: Proven, record: Record) -> Found {
        let since = Since::of(proven.started());
        Found {
            proven,
            record,
            since,
        }
    }
}

/// What the three layers found: one variant per state, each with what that state has. The
/// core's actions match on it; the report ([`Status`]'s JSON) is made from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Worker {
    /// A PID file names it, the process is proven, and `/health` answers 200.
    Running(Found),
    /// The proven worker does not answer `/health` well (`found`), or a listener no PID file
    /// proves accepts connections and never answers (wedged; `stale`: the file that failed).
    Unhealthy {
        found: Option<Found>,
        stale: Option<Record>,
        reason: String,
    },
    /// The PID file names no live worker (`record`: the file, when it parsed).
    Stale {
        record: Option<Record>,
        reason: String,
    },
    Stopped,
    /// A worker answers on the port, but no PID file proves it (the listener is
    /// [`Status::port_holder`]; `since`: when it started; `stale`: the file that failed).
    Unmanaged {
        since: Since,
        stale: Option<Record>,
        reason: String,
    },
    /// A worker that is not this data dir's holds the port ([`Status::elsewhere`] says
    /// whose; `stale`: this data dir's PID file, when it failed or named that worker).
    Taken {
        stale: Option<Record>,
        reason: String,
    },
    /// The data dir or the PID file could not be read or trusted.
    Unknown {
        reason: String,
    },
}

impl Worker {
    pub fn state(&self) -> State {
        match self {
            Worker::Running(_) => State::Running,
            Worker::Unhealthy { .. } => State::Unhealthy,
            Worker::Stale { .. } => State::Stale,
            Worker::Stopped => State::Stopped,
            Worker::Unmanaged { .. } => State::Unmanaged,
            Worker::Taken { .. } => State::Taken,
            Worker::Unknown { .. } => State::Unknown,
        }
    }

    /// Why the state is stale, unknown, unhealthy or unmanaged.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Worker::Running(_) | Worker::Stopped => None,
            Worker::Unhealthy { reason, .. }
            | Worker::Stale { reason, .. }
            | Worker::Unmanaged { reason, .. }
            | Worker::Taken { reason, .. }
            | Worker::Unknown { reason } => Some(reason),
        }
    }

    /// The proven worker, if any.
    pub fn found(&self) -> Option<&Found> {
        match self {
            Worker::Running(f) => Some(f),
            Worker::Unhealthy { found, .. } => found.as_ref(),
            _ => None,
        }
    }
}

/// Everything `status`, `--once` and the dashboard show about the worker. What the layers
/// found is [`Worker`]; the rest is what every state has (the port, the checks, the files) and
/// what the extras add. Serialized as the report `--json` prints (see [`Report`]).
#[derive(Debug, Clone)]
pub struct Status {
    pub worker: Worker,
    pub layout: Layout,
    pub port: u16,
    pub port_source: PortSource,
    pub checks: Vec<Check>,
    pub data_dir: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    pub pm2_migrated_at: Option<String>,
    /// Who listens on the configured port, when something accepted the probe.
    pub port_holder: Option<PortHolder>,
    /// A live worker that is not this data dir's, named by the PID file or holding the port.
    pub elsewhere: Option<Elsewhere>,
    pub warnings: Vec<String>,
    /// The installed claude-mem release (its plugin's package.json).
    pub installed_version: Option<String>,
    /// The worker's API figures (when it offers them).
    pub api: Option<ApiInfo>,
    /// A live pm2 daemon or claude-mem-worker app from before 7.1.0.
    pub pm2: Option<Pm2Leftovers>,
    /// This data dir's claude-mem processes (workers and their helpers), from the census.
    pub processes: Vec<Member>,
    /// Its orphaned helpers (also in `processes`).
    pub orphans: Vec<Member>,
    /// What `/health` does not say: degraded dependencies, Chroma, the observer, the hooks, a
    /// stalled pipeline, restart loops (read with the extras).
    pub pipeline: Option<Pipeline>,
    /// The `/health` probe, when one was sent.
    pub probe: Option<Probe>,
    /// The API, read at the same time as `/health` when extras were asked for.
    pub api_prefetch: Option<ApiInfo>,
    /// The newest stored items, when [`StatusOpts::activity`] asked for them (empty when the
    /// database cannot be read).
    pub activity: Vec<super::activity::Item>,
    /// How the worker's previous run ended, from its logs (read with the extras).
    pub previous_run: Option<super::history::Run>,
}

impl Status {
    pub fn state(&self) -> State {
        self.worker.state()
    }

    pub fn reason(&self) -> Option<&str> {
        self.worker.reason()
    }

    /// `/health` answered 200 (a proven worker, or an unmanaged one).
    pub fn healthy(&self) -> bool {
        matches!(self.worker, Worker::Running(_) | Worker::Unmanaged { .. })
    }

    /// The proven worker (running or unhealthy).
    pub fn proven(&self) -> Option<&Proven> {
        self.worker.found().map(|f| &f.proven)
    }

    /// The PID record the state stands on.
    pub fn record(&self) -> Option<&Record> {
        match &self.worker {
            Worker::Running(f) => Some(&f.record),
            Worker::Unhealthy { found, stale, .. } => {
                found.as_ref().map(|f| &f.record).or(stale.as_ref())
            }
            Worker::Stale { record, .. }
            | Worker::Unmanaged { stale: record, .. }
            | Worker::Taken { stale: record, .. } => record.as_ref(),
            _ => None,
        }
    }

    fn holder_pid(&self) -> Option<i32> {
        self.port_holder.as_ref().and_then(|h| h.pid)
    }

    /// The active sessions a healthy `/health` answer reports (13.x says `activeSessions` in
    /// every answer, so the dashboard need not ask `/api/stats` for them).
    pub fn reported_active_sessions(&self) -> Option<u64> {
        let p = self.probe.as_ref()?;
        let v = p.result.as_ref().ok().filter(|_| p.healthy())?.json()?;
        v.get("activeSessions")?.as_u64()
    }

    /// The worker's PID: the proven one, the port's listener, or what a stale file names.
    pub fn pid(&self) -> Option<i32> {
        match &self.worker {
            Worker::Running(f) => Some(f.proven.pid),
            Worker::Unhealthy { found: Some(f), .. } => Some(f.proven.pid),
            Worker::Unhealthy { stale, .. } => {
                self.holder_pid().or(stale.as_ref().map(|r| r.claim.pid))
            }
            Worker::Stale { record, .. } => record.as_ref().map(|r| r.claim.pid),
            Worker::Unmanaged { .. } => self.holder_pid(),
            Worker::Taken { .. } => self
                .elsewhere
                .as_ref()
                .and_then(|e| e.pid)
                .or(self.holder_pid()),
            Worker::Stopped | Worker::Unknown { .. } => None,
        }
    }

    /// The worker's command line.
    pub fn command(&self) -> Option<String> {
        match &self.worker {
            Worker::Running(f) | Worker::Unhealthy { found: Some(f), .. } => {
                Some(f.proven.argv().join(" "))
            }
            Worker::Unhealthy { .. } | Worker::Unmanaged { .. } | Worker::Taken { .. } => {
                self.port_holder.as_ref().and_then(|h| h.command.clone())
            }
            _ => None,
        }
    }

    /// When the worker started.
    pub fn since(&self) -> Option<&Since> {
        match &self.worker {
            Worker::Unmanaged { since, .. } => Some(since),
            w => w.found().map(|f| &f.since),
        }
    }

    pub fn uptime_seconds(&self) -> Option<u64> {
        self.since().and_then(|s| s.uptime_seconds)
    }

    pub fn started_at(&self) -> Option<&str> {
        self.since().and_then(|s| s.started_at.as_deref())
    }

    /// Stopped, with nothing found yet: the start of a status read.
    pub fn new(port: u16, port_source: PortSource, data_dir: PathBuf) -> Status {
        Status {
            worker: Worker::Stopped,
            layout: Layout::None,
            port,
            port_source,
            checks: Vec::new(),
            data_dir,
            pid_file: None,
            log_file: None,
            pm2_migrated_at: None,
            port_holder: None,
            elsewhere: None,
            warnings: Vec::new(),
            installed_version: None,
            api: None,
            pm2: None,
            processes: Vec::new(),
            orphans: Vec::new(),
            pipeline: None,
            probe: None,
            api_prefetch: None,
            activity: Vec::new(),
            previous_run: None,
        }
    }
}

fn to_iso(t: SystemTime) -> String {
    files::iso(chrono::DateTime::<chrono::Utc>::from(t))
}

/// Options for one status read.
#[derive(Debug, Clone, Copy)]
pub struct StatusOpts {
    pub http_timeout: Duration,
    /// Also read the API, the installed version and PM2 leftovers (for display; the actions
    /// do not need them).
    pub extras: bool,
    /// With the extras: prompts without an observation for this long is a stalled pipeline.
    pub stall_after: Duration,
    /// With the extras: read this many of the newest stored items into [`Status::activity`]
    /// (`--once`), with the other disk reads.
    pub activity: usize,
}

impl Default for StatusOpts {
    fn default() -> Self {
        StatusOpts {
            http_timeout: health::DEFAULT_TIMEOUT,
            extras: false,
            stall_after: pipeline::DEFAULT_STALL_AFTER,
            activity: 0,
        }
    }
}

impl StatusOpts {
    pub fn display() -> StatusOpts {
        StatusOpts {
            extras: true,
            ..StatusOpts::default()
        }
    }
}

/// Read the status. Never writes anything. With the extras, the worker's requests go out as soon
/// as the port is known, while a second thread takes the census's scan of the process table;
/// the extras' files are read once the worker has answered (`probe::Prober`).
pub fn status(cfg: &Config, opts: StatusOpts) -> Status {
    std::thread::scope(|s| {
        let mut prober = probe::Prober::new(opts.extras.then_some(s), cfg, opts);
        let mut warnings = Vec::new();
        let dir = &cfg.data_dir;
        let st = Status::new(cfg.port, cfg.port_source.clone(), dir.clone());
        let mut st = read::read_layers(cfg, &mut prober, st, &mut warnings);
        st.warnings = warnings;
        st.log_file = crate::logs::newest_log(&cfg.logs_dir());
        if let Some((scan, local)) = prober.finish() {
            Extras::read(cfg, &st, opts.stall_after, scan, local).apply(&mut st);
        }
        st
    })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::platform;

    pub(super) fn proven(pid: i32, started: Option<SystemTime>) -> Proven {
        let mut info = platform::ProcInfo::described(pid, &["bun", "worker-service.cjs"]);
        info.started = started;
        Proven { pid, info }
    }

    pub(super) fn record(pid: i32) -> Record {
        Record {
            layout: Layout::Spec,
            path: "/d/.worker.pid".into(),
            claim: Claim {
                pid,
                written: UNIX_EPOCH,
                start_token: None,
            },
            port: Some(40000),
            version: None,
        }
    }

    #[test]
    fn each_state_carries_what_it_has() {
        let mut st = Status::new(40000, PortSource::Default, "/d".into());
        assert_eq!(
            (st.state(), st.pid(), st.reason()),
            (State::Stopped, None, None)
        );
        assert!(!st.healthy() && st.proven().is_none() && st.command().is_none());

        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        st.worker = Worker::Running(Found::new(proven(42, Some(hour_ago)), record(42)));
        assert_eq!(
            (st.state(), st.pid(), st.healthy()),
            (State::Running, Some(42), true)
        );
        assert_eq!(st.command().as_deref(), Some("bun worker-service.cjs"));
        assert!(st
            .uptime_seconds()
            .is_some_and(|u| (3599..=3601).contains(&u)));
        assert_eq!(st.record().map(|r| r.claim.pid), Some(42));

        st.worker = Worker::Unhealthy {
            found: Some(Found::new(proven(42, None), record(42))),
            stale: None,
            reason: "GET /health: HTTP 500".into(),
        };
        assert_eq!(st.reason(), Some("GET /health: HTTP 500"));
        assert_eq!((st.pid(), st.healthy()), (Some(42), false));
        assert!(st.proven().is_some() && st.uptime_seconds().is_none());

        // A wedged listener: the PID is the listener's, else the stale file's.
        st.worker = Worker::Unhealthy {
            found: None,
            stale: Some(record(7)),
            reason: "wedged".into(),
        };
        assert_eq!((st.pid(), st.command()), (Some(7), None));
        st.port_holder = Some(PortHolder {
            pid: Some(99),
            uid: None,
            command: Some("node x".into()),
        });
        assert_eq!(
            (st.pid(), st.command().as_deref()),
            (Some(99), Some("node x"))
        );
        assert!(st.proven().is_none());

        st.worker = Worker::Unmanaged {
            since: Since::default(),
            stale: None,
            reason: "a worker answers".into(),
        };
        assert_eq!(
            (st.state(), st.pid(), st.healthy()),
            (State::Unmanaged, Some(99), true)
        );

        st.port_holder = None;
        st.worker = Worker::Stale {
            record: Some(record(5)),
            reason: "process 5 is not running".into(),
        };
        assert_eq!((st.state(), st.pid()), (State::Stale, Some(5)));
        assert!(!st.healthy() && st.command().is_none());

        st.worker = Worker::Unknown {
            reason: "untrusted".into(),
        };
        assert_eq!(
            (st.state(), st.pid(), st.reason()),
            (State::Unknown, None, Some("untrusted"))
        );
    }

    #[test]
    fn the_report_is_made_from_the_state() {
        let mut st = Status::new(40000, PortSource::Default, "/d".into());
        st.worker = Worker::Stale {
            record: Some(record(5)),
            reason: "gone".into(),
        };
        let text = serde_json::to_string(&st).expect("json");
        assert!(
            text.starts_with(r#"{"schema_version":1,"state":"stale","#),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["pid"], 5);
        assert_eq!(v["reason"], "gone");
        assert_eq!(v["healthy"], false);
        assert!(v["uptime_seconds"].is_null() && v["command"].is_null());
    }
}
