//! The three layers, read once: PID file → process → `GET /health`. Pure reading: status never
//! creates, changes or removes anything.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::api::ApiInfo;
use super::census::{self, Member};
use super::files::{self, FileProblem, JSON_PID_FILE, MARKER_FILE, PID_FILE, PORT_FILE};
use super::health::{self, Probe};
use super::identity::{self, Claim, Proven};
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
    Unknown,
}

impl State {
    /// `status` / `--once` exit codes (LSB-like).
    pub fn exit_code(self) -> u8 {
        match self {
            State::Running => 0,
            State::Stale => 1,
            State::Stopped => 3,
            State::Unknown => 4,
            State::Unhealthy => 150,
            State::Unmanaged => 151,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Unhealthy => "UNHEALTHY",
            State::Stale => "STALE",
            State::Stopped => "STOPPED",
            State::Unmanaged => "UNMANAGED",
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

/// Everything `status`, `--once` and the dashboard show about the worker.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub schema_version: u32,
    pub state: State,
    pub layout: Layout,
    pub pid: Option<i32>,
    pub port: u16,
    pub port_source: PortSource,
    pub uptime_seconds: Option<u64>,
    pub started_at: Option<String>,
    pub healthy: bool,
    pub checks: Vec<Check>,
    #[serde(serialize_with = "files::ser_path")]
    pub data_dir: PathBuf,
    #[serde(serialize_with = "files::ser_opt_path")]
    pub pid_file: Option<PathBuf>,
    #[serde(serialize_with = "files::ser_opt_path")]
    pub log_file: Option<PathBuf>,
    pub pm2_migrated_at: Option<String>,
    /// Why the state is stale, unknown or unhealthy.
    pub reason: Option<String>,
    pub command: Option<String>,
    pub port_holder: Option<PortHolder>,
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
    #[serde(skip)]
    pub proven: Option<Proven>,
    #[serde(skip)]
    pub record: Option<Record>,
    #[serde(skip)]
    pub probe: Option<Probe>,
    /// The API, read at the same time as `/health` when extras were asked for.
    #[serde(skip)]
    pub api_prefetch: Option<ApiInfo>,
}

/// What a status read found, as one enum whose variants carry what each state has: callers
/// match on it instead of reading `state`, `proven`, `reason` and `pid` side by side.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    /// Proven and answering `/health`.
    Running(&'a Proven),
    /// `worker`: the proven process (a PID file names it); `None`: a wedged listener no file
    /// names, `holder` on the port.
    Unhealthy {
        worker: Option<&'a Proven>,
        holder: Option<&'a PortHolder>,
        reason: &'a str,
    },
    Stale {
        record: Option<&'a Record>,
        reason: &'a str,
    },
    Stopped,
    /// A worker answers on the port, but no PID file proves it.
    Unmanaged {
        holder: Option<&'a PortHolder>,
    },
    Unknown {
        reason: &'a str,
    },
}

impl Status {
    /// The typed view of this read.
    pub fn verdict(&self) -> Verdict<'_> {
        let reason = self.reason.as_deref().unwrap_or("");
        match (self.state, &self.proven) {
            (State::Running, Some(p)) => Verdict::Running(p),
            // The builder proves a worker before it says running; a read without the proof is
            // not one to act on.
            (State::Running, None) => Verdict::Unknown {
                reason: "running, but the process is not proven",
            },
            (State::Unhealthy, worker) => Verdict::Unhealthy {
                worker: worker.as_ref(),
                holder: self.port_holder.as_ref(),
                reason,
            },
            (State::Stale, _) => Verdict::Stale {
                record: self.record.as_ref(),
                reason,
            },
            (State::Stopped, _) => Verdict::Stopped,
            (State::Unmanaged, _) => Verdict::Unmanaged {
                holder: self.port_holder.as_ref(),
            },
            (State::Unknown, _) => Verdict::Unknown { reason },
        }
    }

    /// Stopped, with nothing found yet: the start of a status read.
    pub fn new(port: u16, port_source: PortSource, data_dir: PathBuf) -> Status {
        Status {
            schema_version: SCHEMA_VERSION,
            state: State::Stopped,
            layout: Layout::None,
            pid: None,
            port,
            port_source,
            uptime_seconds: None,
            started_at: None,
            healthy: false,
            checks: Vec::new(),
            data_dir,
            pid_file: None,
            log_file: None,
            pm2_migrated_at: None,
            reason: None,
            command: None,
            port_holder: None,
            warnings: Vec::new(),
            installed_version: None,
            api: None,
            pm2: None,
            processes: Vec::new(),
            orphans: Vec::new(),
            pipeline: None,
            proven: None,
            record: None,
            probe: None,
            api_prefetch: None,
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
}

impl Default for StatusOpts {
    fn default() -> Self {
        StatusOpts {
            http_timeout: health::DEFAULT_TIMEOUT,
            extras: false,
            stall_after: pipeline::DEFAULT_STALL_AFTER,
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

/// Read the status. Never writes anything. With the extras, the census's scan of the process
/// table runs on a second thread while this one reads the files and waits on the worker.
pub fn status(cfg: &Config, opts: StatusOpts) -> Status {
    std::thread::scope(|s| {
        let scan = opts.extras.then(|| s.spawn(|| census::scan(cfg)));
        let mut warnings = Vec::new();
        let dir = &cfg.data_dir;
        let st = Status {
            log_file: crate::logs::newest_log(&cfg.logs_dir()),
            ..Status::new(cfg.port, cfg.port_source.clone(), dir.clone())
        };
        let st = read_layers(cfg, opts, st, &mut warnings);
        let mut st = finish(st, warnings);
        if let Some(scan) = scan {
            // A scan that panicked is an empty one: the layers stand on their own.
            let scan = scan.join().unwrap_or_default();
            Extras::read(cfg, &st, opts.stall_after, scan).apply(&mut st);
        }
        st
    })
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
}

impl Extras {
    /// Everything, with the census of `scan` (for `status`, `--once`, doctor and the
    /// metrics). The census asks the configured port nothing more: the status read asked it.
    pub fn read(cfg: &Config, st: &Status, stall_after: Duration, scan: census::Scan) -> Extras {
        let mut e = Extras::read_without_census(cfg, st, stall_after);
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
            st.proven.as_ref().map(|p| p.pid),
            scan,
            heard,
        );
        e
    }

    /// Without the census (the dashboard has a census source of its own).
    pub fn read_without_census(cfg: &Config, st: &Status, stall_after: Duration) -> Extras {
        // Only when /health answered HTTP: a worker that hangs or talks garbage would make each
        // API read wait out its timeout too, and status must stay within one probe's timeout.
        let answered = st.probe.as_ref().is_some_and(|p| p.result.is_ok());
        let api = (answered
            && matches!(
                st.state,
                State::Running | State::Unhealthy | State::Unmanaged
            ))
        .then(|| {
            st.api_prefetch
                .clone()
                .unwrap_or_else(|| super::api::read(cfg.host, st.port))
        });
        let installed_version = crate::release::installed_version(cfg);
        // The release the hooks run decides what they kill; the marketplace's otherwise.
        let plugin = crate::release::hooks_version(cfg).or_else(|| installed_version.clone());
        let pipeline = pipeline::read(
            cfg,
            pipeline::Inputs {
                answering_port: api.is_some().then_some(st.port),
                dependencies: api.as_ref().and_then(|a| a.dependencies.as_ref()),
                chroma: api.as_ref().and_then(|a| a.chroma.as_ref()),
                running_version: api.as_ref().and_then(|a| a.version.as_deref()),
                installed_version: plugin.as_deref(),
                stall_after,
            },
        );
        Extras {
            installed_version,
            api,
            pm2: pm2::detect(cfg.home.as_deref()).filter(|p| p.active()),
            census: census::Census::default(),
            pipeline: Some(pipeline),
        }
    }

    /// Put these into a status (the API only while a worker answers).
    pub fn apply(&self, st: &mut Status) {
        st.installed_version = self.installed_version.clone();
        if matches!(
            st.state,
            State::Running | State::Unhealthy | State::Unmanaged
        ) {
            st.api = self.api.clone();
        }
        st.pm2 = self.pm2.clone();
        st.pipeline = self.pipeline.clone();
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
            .filter(|m| Some(m.pid) != st.pid)
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
    opts: StatusOpts,
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
            st.state = State::Unknown;
            st.reason = Some(format!("data dir {} is not a directory", dir.display()));
            return st;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            st.checks.push(Check::new(
                Layer::PidFile,
                false,
                format!("data dir {} does not exist", dir.display()),
            ));
            probe_unmanaged(cfg, opts, &mut st);
            return st;
        }
        Err(e) => {
            st.state = State::Unknown;
            st.reason = Some(format!("cannot read data dir {}: {e}", dir.display()));
            return st;
        }
    }
    if let Err(e) = std::fs::read_dir(dir) {
        st.state = State::Unknown;
        st.reason = Some(format!("cannot read data dir {}: {e}", dir.display()));
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

    match pid_layer(cfg, warnings) {
        PidLayer::Absent => {
            st.layout = if v13 { Layout::V13 } else { Layout::None };
            st.checks
                .push(Check::new(Layer::PidFile, false, "no PID file"));
            probe_unmanaged(cfg, opts, &mut st);
        }
        PidLayer::Untrusted(p) => {
            st.state = State::Unknown;
            st.reason = Some(p.to_string());
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
        }
        PidLayer::Invalid(p) => {
            st.state = State::Stale;
            st.layout = Layout::Spec;
            st.reason = Some(p.to_string());
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
            if let FileProblem::Invalid { path, .. } = &p {
                st.pid_file = Some(path.clone());
            }
        }
        PidLayer::Records(records) => {
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
            st.pid = Some(rec.claim.pid);
            st.pid_file = Some(rec.path.clone());
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
                    st.state = State::Stale;
                    st.checks
                        .push(Check::new(Layer::Process, false, reason.clone()));
                    st.reason = Some(reason);
                    st.record = Some(rec);
                    // The file is stale, but is a worker answering on the port anyway?
                    probe_unmanaged(cfg, opts, &mut st);
                    return st;
                }
                Ok(proven) => {
                    let now = SystemTime::now();
                    if let Some(t) = proven.started() {
                        st.started_at = Some(to_iso(t));
                        st.uptime_seconds =
                            Some(now.duration_since(t).unwrap_or_default().as_secs());
                    }
                    st.command = Some(proven.argv().join(" "));
                    st.checks.push(Check::new(
                        Layer::Process,
                        true,
                        format!("PID {} alive ({})", proven.pid, proven.info.name),
                    ));
                    if let Some(uid) = proven.uid().filter(|u| Some(*u) != platform::current_uid())
                    {
                        warnings.push(format!(
                            "the worker runs as uid {uid}, not as you: actions will be refused"
                        ));
                    }
                    let probe = probe_health(cfg, opts, &mut st);
                    st.healthy = probe.healthy();
                    st.checks.push(http_check(&probe));
                    if st.healthy {
                        st.state = State::Running;
                    } else {
                        st.state = State::Unhealthy;
                        st.reason = Some(if wedged(&probe) {
                            wedged_reason(&probe, st.port)
                        } else {
                            format!("GET /health: {}", probe.detail())
                        });
                    }
                    st.probe = Some(probe);
                    st.proven = Some(proven);
                }
            }
            st.record = Some(rec);
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

/// `GET /health`; with extras, the API's requests go at the same time (kept in
/// `st.api_prefetch`), so a status read costs one round of requests, not five in a row.
fn probe_health(cfg: &Config, opts: StatusOpts, st: &mut Status) -> Probe {
    let (host, port) = (cfg.host, st.port);
    if !opts.extras {
        return health::get(host, port, "/health", opts.http_timeout);
    }
    let both = super::http::block_on(async {
        tokio::join!(
            super::http::fetch(host, port, "GET", "/health", opts.http_timeout),
            super::api::read_async(host, port)
        )
    });
    match both {
        Ok((probe, api)) => {
            st.api_prefetch = Some(api);
            probe
        }
        Err(_) => health::get(host, port, "/health", opts.http_timeout),
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
fn probe_unmanaged(cfg: &Config, opts: StatusOpts, st: &mut Status) {
    let probe = probe_health(cfg, opts, st);
    let connected = !matches!(probe.result, Err(health::ProbeError::Refused));
    if connected {
        st.port_holder = platform::port_holder_of_listener(st.port);
    }
    let stale = (st.state == State::Stale)
        .then(|| st.reason.clone())
        .flatten();
    if wedged(&probe) {
        st.state = State::Unhealthy;
        st.pid = st.port_holder.as_ref().and_then(|h| h.pid).or(st.pid);
        st.command = st.port_holder.as_ref().and_then(|h| h.command.clone());
        st.reason = Some(wedged_reason(&probe, st.port));
    } else if probe.healthy() {
        st.state = State::Unmanaged;
        st.healthy = true;
        if let Some(h) = &st.port_holder {
            st.pid = h.pid;
            st.command = h.command.clone();
            if let Some(info) = h.pid.and_then(platform::proc_info) {
                if let Some(t) = info.started {
                    st.started_at = Some(to_iso(t));
                    st.uptime_seconds = Some(
                        SystemTime::now()
                            .duration_since(t)
                            .unwrap_or_default()
                            .as_secs(),
                    );
                }
            }
        }
        st.reason = Some(match stale {
            Some(why) => format!(
                "a worker answers on port {} but the PID file is stale ({why})",
                st.port
            ),
            None => format!(
                "a worker answers on port {} but no PID file names it",
                st.port
            ),
        });
    } else if stale.is_none() {
        st.state = State::Stopped;
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

    #[test]
    fn the_verdict_carries_what_each_state_has() {
        let mut st = Status::new(40000, PortSource::Default, "/d".into());
        assert!(matches!(st.verdict(), Verdict::Stopped));
        // Running without a proof is nothing to act on.
        st.state = State::Running;
        assert!(
            matches!(st.verdict(), Verdict::Unknown { reason } if reason.contains("not proven"))
        );
        st.state = State::Unhealthy;
        st.reason = Some("GET /health: HTTP 500".into());
        assert!(matches!(
            st.verdict(),
            Verdict::Unhealthy {
                worker: None,
                holder: None,
                reason: "GET /health: HTTP 500"
            }
        ));
        st.state = State::Stale;
        assert!(matches!(st.verdict(), Verdict::Stale { record: None, .. }));
        st.state = State::Unmanaged;
        assert!(matches!(st.verdict(), Verdict::Unmanaged { holder: None }));
    }

    #[test]
    fn uptime_formats() {
        assert_eq!(fmt_uptime(5), "5s");
        assert_eq!(fmt_uptime(303), "5m 3s");
        assert_eq!(fmt_uptime(2 * 3600 + 15 * 60), "2h 15m");
        assert_eq!(fmt_uptime(86400 + 7200), "1d 2h");
    }
}
