//! The three layers, read once: PID file → process → `GET /health`. Pure reading: status never
//! creates, changes or removes anything.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::api::{ApiInfo, Family};
use super::census::{self, Member};
use super::files::{self, FileProblem, JSON_PID_FILE, MARKER_FILE, PID_FILE, PORT_FILE};
use super::health::{self, Probe};
use super::identity::{self, Claim, Proven};
use super::ownership::{self, Elsewhere};
use super::pipeline::{self, Pipeline};
use super::pm2::{self, Pm2Leftovers};
use crate::config::{Config, PortSource};
use crate::platform::{self, PortHolder};

pub const SCHEMA_VERSION: u32 = 1;

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

    /// `status` / `--once` exit codes (LSB-like).
    pub fn exit_code(self) -> u8 {
        match self {
            State::Running => 0,
            State::Stale => 1,
            State::Stopped => 3,
            State::Unknown => 4,
            State::Unhealthy => 150,
            State::Unmanaged => 151,
            State::Taken => 152,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Unhealthy => "UNHEALTHY",
            State::Stale => "STALE",
            State::Stopped => "STOPPED",
            State::Unmanaged => "UNMANAGED",
            State::Taken => "TAKEN",
            State::Unknown => "UNKNOWN",
        }
    }
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

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Spec => "spec",
            Layout::V7 => "7.x",
            Layout::V13 => "13.x",
            Layout::None => "none",
        }
    }
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

impl Layer {
    /// Its name in the `status` text, padded to one width.
    pub fn label(self) -> &'static str {
        match self {
            Layer::PidFile => "PID file",
            Layer::Process => "process ",
            Layer::Http => "/health ",
        }
    }

    /// A short name for narrow panels.
    pub fn short(self) -> &'static str {
        match self {
            Layer::PidFile => "pid",
            Layer::Process => "proc",
            Layer::Http => "http",
        }
    }
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

/// The status as `--json` prints it (the schema in `assets/status.schema.json`).
#[derive(Serialize)]
pub struct Report<'a> {
    schema_version: u32,
    state: State,
    layout: Layout,
    pid: Option<i32>,
    port: u16,
    port_source: &'a PortSource,
    uptime_seconds: Option<u64>,
    started_at: Option<&'a str>,
    healthy: bool,
    checks: &'a [Check],
    #[serde(serialize_with = "files::ser_path")]
    data_dir: &'a Path,
    #[serde(serialize_with = "files::ser_opt_path")]
    pid_file: &'a Option<PathBuf>,
    #[serde(serialize_with = "files::ser_opt_path")]
    log_file: &'a Option<PathBuf>,
    pm2_migrated_at: Option<&'a str>,
    reason: Option<&'a str>,
    command: Option<String>,
    port_holder: Option<&'a PortHolder>,
    elsewhere: Option<&'a Elsewhere>,
    warnings: &'a [String],
    installed_version: Option<&'a str>,
    api: Option<&'a ApiInfo>,
    pm2: Option<&'a Pm2Leftovers>,
    processes: &'a [Member],
    orphans: &'a [Member],
    pipeline: Option<&'a Pipeline>,
    previous_run: Option<&'a super::history::Run>,
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.report().serialize(s)
    }
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

    /// The report `--json` prints.
    pub fn report(&self) -> Report<'_> {
        Report {
            schema_version: SCHEMA_VERSION,
            state: self.state(),
            layout: self.layout,
            pid: self.pid(),
            port: self.port,
            port_source: &self.port_source,
            uptime_seconds: self.uptime_seconds(),
            started_at: self.started_at(),
            healthy: self.healthy(),
            checks: &self.checks,
            data_dir: &self.data_dir,
            pid_file: &self.pid_file,
            log_file: &self.log_file,
            pm2_migrated_at: self.pm2_migrated_at.as_deref(),
            reason: self.reason(),
            command: self.command(),
            port_holder: self.port_holder.as_ref(),
            elsewhere: self.elsewhere.as_ref(),
            warnings: &self.warnings,
            installed_version: self.installed_version.as_deref(),
            api: self.api.as_ref(),
            pm2: self.pm2.as_ref(),
            processes: &self.processes,
            orphans: &self.orphans,
            pipeline: self.pipeline.as_ref(),
            previous_run: self.previous_run.as_ref(),
        }
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

/// What the pid-file layer found.
enum PidLayer {
    Absent,
    Records(Vec<Record>),
    Invalid(FileProblem),
    Untrusted(FileProblem),
}

fn to_iso(t: SystemTime) -> String {
    files::iso(chrono::DateTime::<chrono::Utc>::from(t))
}

fn system_time(t: chrono::DateTime<chrono::Utc>) -> SystemTime {
    let ms = t.timestamp_millis();
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    }
}

/// Read the PID records of every layout present.
fn pid_layer(cfg: &Config, warnings: &mut Vec<String>) -> PidLayer {
    let mut records = Vec::new();
    let mut invalid = None;
    let dir = &cfg.data_dir;

    match files::read_small(&dir.join(PID_FILE)) {
        Ok(None) => {}
        Err(p) if p.is_untrusted() => return PidLayer::Untrusted(p),
        Err(p) => invalid = Some(p),
        Ok(Some(f)) => {
            if f.world_writable {
                warnings.push(format!(
                    "{} is world-writable: anyone can redirect our signals",
                    f.path.display()
                ));
            }
            match files::parse_pid_file(&f.path, &f.text) {
                Err(p) => invalid = Some(p),
                Ok(pid) => {
                    let port = match files::read_small(&dir.join(PORT_FILE)) {
                        Ok(Some(pf)) => match files::parse_port_file(&pf.path, &pf.text) {
                            Ok((port, ppid)) if ppid == pid => Some(port),
                            Ok((_, ppid)) => {
                                warnings.push(format!(
                                    "{} names PID {ppid}, but {} names {pid}",
                                    pf.path.display(),
                                    f.path.display()
                                ));
                                None
                            }
                            Err(p) => {
                                warnings.push(p.to_string());
                                None
                            }
                        },
                        Ok(None) => None,
                        Err(p) => {
                            warnings.push(p.to_string());
                            None
                        }
                    };
                    let start_token = files::read_identity(dir)
                        .filter(|i| i.pid == pid)
                        .map(|i| i.start_token);
                    records.push(Record {
                        layout: Layout::Spec,
                        path: f.path.clone(),
                        claim: Claim {
                            pid,
                            written: f.mtime,
                            start_token,
                        },
                        port,
                        version: None,
                    });
                }
            }
        }
    }

    match files::read_small(&dir.join(JSON_PID_FILE)) {
        Ok(None) => {}
        Err(p) if p.is_untrusted() => {
            if records.is_empty() {
                return PidLayer::Untrusted(p);
            }
            warnings.push(p.to_string());
        }
        Err(p) => {
            invalid.get_or_insert(p);
        }
        Ok(Some(f)) => match files::parse_json_pid(&f.path, &f.text) {
            Err(p) => {
                invalid.get_or_insert(p);
            }
            Ok(j) => {
                let layout = if j.start_token.is_some() {
                    Layout::V13
                } else {
                    Layout::V7
                };
                // Our own spawn record proves identity exactly when it names this PID.
                let start_token = j.start_token.or_else(|| {
                    files::read_identity(dir)
                        .filter(|i| i.pid == j.pid)
                        .map(|i| i.start_token)
                });
                records.push(Record {
                    layout,
                    path: f.path.clone(),
                    claim: Claim {
                        pid: j.pid,
                        written: j.started_at.map(system_time).unwrap_or(f.mtime),
                        start_token,
                    },
                    port: j.port,
                    version: j.version.filter(|v| v != "unknown"),
                });
            }
        },
    }
    match (records.is_empty(), invalid) {
        (false, inv) => {
            if let Some(p) = inv {
                warnings.push(p.to_string());
            }
            PidLayer::Records(records)
        }
        (true, Some(p)) => PidLayer::Invalid(p),
        (true, None) => PidLayer::Absent,
    }
}

/// True when 13.x-only files are present.
pub fn has_v13_files(dir: &Path) -> bool {
    platform::exists(&dir.join("supervisor.json"))
        || platform::exists(&dir.join(".worker-clean-shutdown"))
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

/// The default port of the 13.x layout: 37700 + uid % 100 where there are uids, else 37777 (the
/// 13.x formula is Unix only).
pub fn v13_default_port() -> u16 {
    match platform::current_uid() {
        Some(uid) => 37700 + (uid % 100) as u16,
        None => crate::config::DEFAULT_PORT,
    }
}

/// Read the status. Never writes anything. With the extras, the worker's requests go out as soon
/// as the port is known, while a second thread reads the extras' files and takes the census's
/// scan of the process table (`Prober`).
pub fn status(cfg: &Config, opts: StatusOpts) -> Status {
    std::thread::scope(|s| {
        let mut prober = Prober {
            scope: opts.extras.then_some(s),
            cfg,
            opts,
            answered: None,
            side: None,
        };
        let mut warnings = Vec::new();
        let dir = &cfg.data_dir;
        let st = Status::new(cfg.port, cfg.port_source.clone(), dir.clone());
        let st = read_layers(cfg, &mut prober, st, &mut warnings);
        let mut st = finish(st, warnings);
        st.log_file = crate::logs::newest_log(&cfg.logs_dir());
        if let Some((scan, local)) = prober.finish() {
            Extras::read(cfg, &st, opts.stall_after, scan, local).apply(&mut st);
        }
        st
    })
}

/// The extras that come from disk alone: `status` reads them on a second thread while the
/// worker answers.
#[derive(Debug, Clone, Default)]
pub struct LocalExtras {
    installed_version: Option<String>,
    /// The release the hooks run (they decide what gets killed), else the marketplace's.
    plugin: Option<String>,
    pm2: Option<Pm2Leftovers>,
    pipeline: pipeline::Local,
    activity: Vec<super::activity::Item>,
    /// The newest runs from the logs (the live worker not applied yet).
    history: Option<super::history::History>,
}

impl LocalExtras {
    /// Everything, and the newest `activity` items of the database.
    pub fn read(cfg: &Config, activity: usize) -> LocalExtras {
        let installed_version = crate::release::installed_version(cfg);
        LocalExtras {
            plugin: crate::release::hooks_version(cfg).or_else(|| installed_version.clone()),
            installed_version,
            pm2: pm2::detect(cfg.home.as_deref()).filter(|p| p.active()),
            pipeline: pipeline::read_local(cfg),
            history: super::history::read(&cfg.data_dir, super::history::Limits::recent(), None)
                .ok(),
            activity: if activity == 0 {
                Vec::new()
            } else {
                super::activity::read(&cfg.path("claude-mem.db"), Default::default(), activity)
                    .map(|(items, _)| items)
                    .unwrap_or_default()
            },
        }
    }
}

/// What `status` shows besides the three layers: the installed release, the worker's API
/// figures, PM2 leftovers. The dashboard reads them less often than the layers and carries the
/// last values over.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub installed_version: Option<String>,
    pub api: Option<ApiInfo>,
    pub pm2: Option<Pm2Leftovers>,
    pub census: census::Census,
    pub pipeline: Option<Pipeline>,
    /// The newest stored items ([`StatusOpts::activity`]).
    pub activity: Vec<super::activity::Item>,
    /// The newest runs from the logs, the live worker's marked running.
    pub history: Option<super::history::History>,
}

impl Extras {
    /// Everything, with the census of `scan` and the disk reads of `local` (for `status`,
    /// `--once`, doctor and the metrics). The census asks the configured port nothing more: the
    /// status read asked it.
    pub fn read(
        cfg: &Config,
        st: &Status,
        stall_after: Duration,
        scan: census::Scan,
        local: LocalExtras,
    ) -> Extras {
        let mut e = Extras::complete(cfg, st, stall_after, local);
        let heard = st.probe.as_ref().map(|p| {
            // What a healthy worker said of itself; nothing of one that is not.
            let api = (st.api_prefetch.as_ref().or(e.api.as_ref())).filter(|_| p.healthy());
            census::Heard {
                answer: census::Answer::of(p),
                version: api.and_then(|a| a.version.clone()),
                pid: api.and_then(|a| a.pid).or_else(|| reported_pid(p)),
            }
        });
        e.census = census::take_scanned(
            cfg,
            census::Scope::DataDir,
            st.proven().map(|p| p.pid),
            scan,
            heard,
        );
        e
    }

    /// Without the census (the dashboard has a census source of its own).
    pub fn read_without_census(cfg: &Config, st: &Status, stall_after: Duration) -> Extras {
        Extras::complete(cfg, st, stall_after, LocalExtras::read(cfg, 0))
    }

    /// The disk reads with the worker's answers (asked now if the status read did not).
    fn complete(cfg: &Config, st: &Status, stall_after: Duration, local: LocalExtras) -> Extras {
        // Only when /health answered HTTP: a worker that hangs or talks garbage would make each
        // API read wait out its timeout too, and status must stay within one probe's timeout.
        let answered = st.probe.as_ref().is_some_and(|p| p.result.is_ok());
        let api = (answered
            && matches!(
                st.state(),
                State::Running | State::Unhealthy | State::Unmanaged
            ))
        .then(|| {
            st.api_prefetch
                .clone()
                .unwrap_or_else(|| super::api::read(cfg.host, st.port, family(cfg, st.layout)))
        });
        let pipeline = pipeline::complete(
            local.pipeline,
            pipeline::Inputs {
                dependencies: api.as_ref().and_then(|a| a.dependencies.as_ref()),
                chroma: api.as_ref().and_then(|a| a.chroma.as_ref()),
                running_version: api.as_ref().and_then(|a| a.version.as_deref()),
                installed_version: local.plugin.as_deref(),
                stall_after,
            },
        );
        let mut history = local.history;
        if let Some(h) = &mut history {
            let mut live = super::history::Live::of(st);
            if let Some(l) = live.as_mut().filter(|l| l.version.is_none()) {
                l.version = api.as_ref().and_then(|a| a.version.clone());
            }
            h.apply_live(live.as_ref());
        }
        Extras {
            installed_version: local.installed_version,
            api,
            pm2: local.pm2,
            census: census::Census::default(),
            pipeline: Some(pipeline),
            activity: local.activity,
            history,
        }
    }

    /// Put these into a status (the API only while a worker answers).
    pub fn apply(&self, st: &mut Status) {
        st.installed_version = self.installed_version.clone();
        st.activity = self.activity.clone();
        if matches!(
            st.state(),
            State::Running | State::Unhealthy | State::Unmanaged
        ) {
            st.api = self.api.clone();
        }
        st.pm2 = self.pm2.clone();
        st.pipeline = self.pipeline.clone();
        st.previous_run = self.history.as_ref().and_then(|h| h.previous().cloned());
        if let Some(p) = &st.pm2 {
            st.warnings.push(p.describe());
        }
        st.processes = self.census.members.clone();
        st.orphans = self.census.orphans().cloned().collect();
        if !st.orphans.is_empty() {
            st.warnings.push(format!(
                "{} orphaned helper(s) using {}: `claude-mem-top reap` ends them",
                st.orphans.len(),
                crate::config::fmt_bytes(self.census.orphan_rss())
            ));
        }
        let others: Vec<String> = self
            .census
            .workers()
            .filter(|m| Some(m.pid) != st.pid())
            .map(|m| {
                format!(
                    "PID {} ({}{})",
                    m.pid,
                    m.class.label(),
                    m.version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        if !others.is_empty() {
            st.warnings.push(format!(
                "other claude-mem workers: {} (`claude-mem-top ps` lists them)",
                others.join(", ")
            ));
        }
    }
}

fn read_layers(
    cfg: &Config,
    prober: &mut Prober<'_, '_>,
    mut st: Status,
    warnings: &mut Vec<String>,
) -> Status {
    let dir = &cfg.data_dir;

    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            if platform::is_world_writable(&m) {
                warnings.push(format!("data dir {} is world-writable", dir.display()));
            }
        }
        Ok(_) => {
            st.worker = Worker::Unknown {
                reason: format!("data dir {} is not a directory", dir.display()),
            };
            return st;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            st.checks.push(Check::new(
                Layer::PidFile,
                false,
                format!("data dir {} does not exist", dir.display()),
            ));
            probe_unmanaged(cfg, prober, &mut st, Family::Older);
            return st;
        }
        Err(e) => {
            st.worker = Worker::Unknown {
                reason: format!("cannot read data dir {}: {e}", dir.display()),
            };
            return st;
        }
    }
    if let Err(e) = std::fs::read_dir(dir) {
        st.worker = Worker::Unknown {
            reason: format!("cannot read data dir {}: {e}", dir.display()),
        };
        return st;
    }

    st.pm2_migrated_at = match files::read_small(&dir.join(MARKER_FILE)) {
        Ok(Some(f)) => Some(
            files::parse_marker(&f.text)
                .map(files::iso)
                .unwrap_or_else(|| f.text.trim().chars().take(40).collect()),
        ),
        _ => None,
    };
    let v13 = has_v13_files(dir);
    if v13 && cfg.port_source == PortSource::Default {
        st.port = v13_default_port();
    }
    let mut family = if v13 { Family::V13 } else { Family::Older };

    match pid_layer(cfg, warnings) {
        PidLayer::Absent => {
            st.layout = if v13 { Layout::V13 } else { Layout::None };
            st.checks
                .push(Check::new(Layer::PidFile, false, "no PID file"));
            probe_unmanaged(cfg, prober, &mut st, family);
        }
        PidLayer::Untrusted(p) => {
            st.worker = Worker::Unknown {
                reason: p.to_string(),
            };
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
        }
        PidLayer::Invalid(p) => {
            st.worker = Worker::Stale {
                record: None,
                reason: p.to_string(),
            };
            st.layout = Layout::Spec;
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
            if let FileProblem::Invalid { path, .. } = &p {
                st.pid_file = Some(path.clone());
            }
        }
        PidLayer::Records(records) => {
            // Ask the worker now, on the port the first record names; the proofs take place
            // while it answers.
            if records.iter().any(|r| r.layout == Layout::V13) {
                family = Family::V13;
            }
            if let Some(r) = records.first() {
                prober.start(r.port.unwrap_or(st.port), family);
            }
            let mut verdicts: Vec<(Record, Result<Proven, identity::NotProven>)> = records
                .into_iter()
                .map(|r| {
                    let v = identity::prove(&r.claim, &cfg.worker);
                    (r, v)
                })
                .collect();
            // The layout whose worker is proven alive wins; else the first (spec before JSON).
            let idx = verdicts
                .iter()
                .position(|(_, v)| v.is_ok())
                .unwrap_or_default();
            let (rec, verdict) = verdicts.swap_remove(idx);
            st.layout = rec.layout;
            st.pid_file = Some(rec.path.clone());
            let configured = st.port;
            if let Some(p) = rec.port {
                if p != st.port && cfg.port_source != PortSource::Default {
                    warnings.push(format!(
                        "{} records port {p}, but {} says {}",
                        rec.path.display(),
                        cfg.port_source,
                        st.port
                    ));
                }
                st.port = p;
            }
            st.checks.push(Check::new(
                Layer::PidFile,
                true,
                format!(
                    "{}: PID {}",
                    rec.path
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default(),
                    rec.claim.pid
                ),
            ));
            match verdict {
                Err(why) => {
                    let reason = why.to_string();
                    st.checks
                        .push(Check::new(Layer::Process, false, reason.clone()));
                    st.worker = Worker::Stale {
                        record: Some(rec),
                        reason,
                    };
                    // The file is stale, but is a worker answering on the port anyway?
                    probe_unmanaged(cfg, prober, &mut st, family);
                    return st;
                }
                Ok(proven) => {
                    // Alive and the worker, but is it this data dir's? A PID file can be a copy
                    // of another data dir's, and another user's worker is never ours.
                    let owner = ownership::of(&proven.info, cfg);
                    if let Some(whose) = owner.whose() {
                        let reason = format!(
                            "PID {} is {whose}, not this data dir's ({} is a copy or left over)",
                            proven.pid,
                            rec.path.display()
                        );
                        st.checks
                            .push(Check::new(Layer::Process, false, reason.clone()));
                        st.elsewhere = Some(Elsewhere {
                            pid: Some(proven.pid),
                            owner,
                        });
                        // The record's port is that worker's, not this data dir's.
                        st.port = configured;
                        st.worker = Worker::Stale {
                            record: Some(rec),
                            reason,
                        };
                        probe_unmanaged(cfg, prober, &mut st, family);
                        return st;
                    }
                    st.checks.push(Check::new(
                        Layer::Process,
                        true,
                        format!("PID {} alive ({})", proven.pid, proven.info.name),
                    ));
                    let probe = prober.answer(&mut st, family);
                    st.checks.push(http_check(&probe));
                    let found = Found::new(proven, rec);
                    st.worker = if probe.healthy() {
                        Worker::Running(found)
                    } else {
                        Worker::Unhealthy {
                            found: Some(found),
                            stale: None,
                            reason: if wedged(&probe) {
                                wedged_reason(&probe, st.port)
                            } else {
                                format!("GET /health: {}", probe.detail())
                            },
                        }
                    };
                    st.probe = Some(probe);
                }
            }
        }
    }
    st
}

/// The PID a healthy `/health` body reports (`pid`), if any.
fn reported_pid(p: &Probe) -> Option<platform::Pid> {
    let v = p.result.as_ref().ok().filter(|_| p.healthy())?.json()?;
    platform::Pid::try_from(v.get("pid")?.as_i64()?).ok()
}

fn http_check(probe: &Probe) -> Check {
    let mut detail = probe.detail();
    if let Ok(r) = &probe.result {
        if r.status == 200 && r.json().is_none() && !r.body.is_empty() {
            detail.push_str(" (body is not JSON)");
        }
    }
    Check {
        name: Layer::Http,
        ok: probe.healthy(),
        detail,
        latency_ms: Some((probe.latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0),
    }
}

/// Which releases the API requests are for: 13.x when the PID file or the data dir says so.
fn family(cfg: &Config, layout: Layout) -> Family {
    if layout == Layout::V13 || has_v13_files(&cfg.data_dir) {
        Family::V13
    } else {
        Family::Older
    }
}

/// What one round of requests brings: `/health`, and with the extras the API, asked at the
/// same time (so a status read costs one round of requests, not five in a row).
type Answers = (Probe, Option<ApiInfo>);

fn ask(host: IpAddr, port: u16, opts: StatusOpts, family: Family) -> Answers {
    if !opts.extras {
        return (health::get(host, port, "/health", opts.http_timeout), None);
    }
    let both = super::http::block_on(async {
        tokio::join!(
            super::http::fetch(host, port, "GET", "/health", opts.http_timeout),
            super::api::read_async(host, port, family)
        )
    });
    match both {
        Ok((probe, api)) => (probe, Some(api)),
        Err(_) => (health::get(host, port, "/health", opts.http_timeout), None),
    }
}

/// The worker's round of requests, and with the extras the work done while it runs: as soon
/// as the port is known ([`Prober::start`]) a second thread takes the extras' disk reads and
/// the census's scan of the process table, and this one sends the round and waits on the
/// worker. (This thread, not a new one, sends it: on a busy machine a new thread may wait for a
/// core, and the worker's answers are the longest part.) [`Prober::answer`] takes the answers;
/// without the extras it asks in place.
struct Prober<'scope, 'env> {
    scope: Option<&'scope std::thread::Scope<'scope, 'env>>,
    cfg: &'env Config,
    opts: StatusOpts,
    /// The port asked, and its answers.
    answered: Option<(u16, Answers)>,
    side: Option<std::thread::ScopedJoinHandle<'scope, (LocalExtras, census::Scan)>>,
}

impl Prober<'_, '_> {
    /// With the extras, once: start the side work, then ask `port`.
    fn start(&mut self, port: u16, family: Family) {
        let Some(scope) = self.scope.filter(|_| self.side.is_none()) else {
            return;
        };
        let (cfg, n) = (self.cfg, self.opts.activity);
        self.side = Some(scope.spawn(move || (LocalExtras::read(cfg, n), census::scan(cfg))));
        self.answered = Some((port, ask(cfg.host, port, self.opts, family)));
    }

    /// `GET /health` on `st.port` (the API's answers go to `st.api_prefetch`): those of the
    /// round already sent to that port, else a round asked now.
    fn answer(&mut self, st: &mut Status, family: Family) -> Probe {
        self.start(st.port, family);
        let (probe, api) = match self.answered.take() {
            Some((port, answers)) if port == st.port => answers,
            // Another port (a second PID file won): ask that one.
            _ => ask(self.cfg.host, st.port, self.opts, family),
        };
        st.api_prefetch = api;
        probe
    }

    /// With the extras: the disk reads and the scan (done now if nothing was asked).
    fn finish(self) -> Option<(census::Scan, LocalExtras)> {
        self.scope?;
        // A thread that panicked read nothing: the layers stand on their own.
        let (local, scan) = match self.side.map(|h| h.join()) {
            Some(Ok(side)) => side,
            Some(Err(_)) => Default::default(),
            None => (
                LocalExtras::read(self.cfg, self.opts.activity),
                census::scan(self.cfg),
            ),
        };
        Some((scan, local))
    }
}

/// What a wedged listener does.
pub const WEDGED: &str = "accepts connections but does not answer HTTP";

/// `GET /health: no answer within 1000 ms: port N accepts connections but does not answer
/// HTTP (wedged)`.
fn wedged_reason(probe: &Probe, port: u16) -> String {
    format!(
        "GET /health: {}: port {port} {WEDGED} (wedged)",
        probe.detail()
    )
}

/// Connected, and then no answer in time.
fn wedged(probe: &Probe) -> bool {
    matches!(probe.result, Err(health::ProbeError::ReadTimeout(_)))
}

/// No PID file, or a stale one: is a worker answering on the port anyway? "Not running" only
/// when nothing answers.
fn probe_unmanaged(cfg: &Config, prober: &mut Prober<'_, '_>, st: &mut Status, family: Family) {
    let probe = prober.answer(st, family);
    let connected = !matches!(probe.result, Err(health::ProbeError::Refused));
    if connected {
        st.port_holder = platform::port_holder_of_listener(st.port);
    }
    let (stale, why) = match std::mem::replace(&mut st.worker, Worker::Stopped) {
        Worker::Stale { record, reason } => (record, Some(reason)),
        other => {
            st.worker = other;
            (None, None)
        }
    };
    // Whose listener is it? Its PID from the socket table, else the one a 13.x worker reports
    // in `/health` (another user's sockets hide their PID), else the socket's owner alone.
    let taken = connected
        .then(|| {
            let pid = st
                .port_holder
                .as_ref()
                .and_then(|h| h.pid)
                .or_else(|| reported_pid(&probe));
            ownership::of_listener(
                pid,
                st.port_holder.as_ref().and_then(|h| h.uid),
                probe.healthy(),
                cfg,
            )
        })
        .flatten();
    if let Some(holder) = taken {
        let mut reason = format!("port {} is held by {holder}", st.port);
        if let Some(why) = why {
            reason.push_str(&format!("; the PID file is stale ({why})"));
        }
        st.worker = Worker::Taken { stale, reason };
        st.elsewhere = Some(holder);
        st.checks.push(http_check(&probe));
        st.probe = Some(probe);
        return;
    }
    if wedged(&probe) {
        st.worker = Worker::Unhealthy {
            found: None,
            stale,
            reason: wedged_reason(&probe, st.port),
        };
    } else if probe.healthy() {
        let started = st
            .port_holder
            .as_ref()
            .and_then(|h| h.pid)
            .and_then(platform::proc_info)
            .and_then(|i| i.started);
        st.worker = Worker::Unmanaged {
            since: Since::of(started),
            stale,
            reason: match why {
                Some(why) => format!(
                    "a worker answers on port {} but the PID file is stale ({why})",
                    st.port
                ),
                None => format!(
                    "a worker answers on port {} but no PID file names it",
                    st.port
                ),
            },
        };
    } else if let Some(reason) = why {
        st.worker = Worker::Stale {
            record: stale,
            reason,
        };
    } else {
        st.worker = Worker::Stopped;
    }
    st.checks.push(http_check(&probe));
    st.probe = Some(probe);
}

fn finish(mut st: Status, warnings: Vec<String>) -> Status {
    st.warnings = warnings;
    st
}

/// `2h 15m`, `5m 3s`, `4s`, `1d 2h`.
pub fn fmt_uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proven(pid: i32, started: Option<SystemTime>) -> Proven {
        let mut info = platform::ProcInfo::described(pid, &["bun", "worker-service.cjs"]);
        info.started = started;
        Proven { pid, info }
    }

    fn record(pid: i32) -> Record {
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

    #[test]
    fn uptime_formats() {
        assert_eq!(fmt_uptime(5), "5s");
        assert_eq!(fmt_uptime(303), "5m 3s");
        assert_eq!(fmt_uptime(2 * 3600 + 15 * 60), "2h 15m");
        assert_eq!(fmt_uptime(86400 + 7200), "1d 2h");
    }
}
