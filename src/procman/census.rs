//! The census: every claude-mem process on the machine, not only the one a PID file names.
//!
//! Workers are recognised by their command line (`worker-service.cjs` of a marketplace, cache
//! or npm install, or the configured worker command) and, where they answer, by `/api/health`
//! (its version, and its PID). Helpers (`claude … --output-format stream-json`, `chroma-mcp`,
//! `mcp-server.cjs`) count as claude-mem's only with a tie beyond their name:
//! - they descend from a live worker (parent links, each parent started before its child);
//! - their working directory is inside a data dir (the observer runs in
//!   `<data dir>/observer-sessions/<id>`);
//! - an argument is a path inside a data dir (`chroma-mcp --data-dir <data dir>/…`);
//! - their environment sets `CLAUDE_MEM_DATA_DIR` to a data dir.
//!
//! A helper with no live worker above it is orphaned (an `mcp-server.cjs`, which Claude Code
//! starts, only once its parent is gone too). The census only reads; [`end`] signals, and
//! only what it proves again right before the signal.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::files;
use super::health;
use super::identity;
use super::ownership::{self, norm};
use crate::config::{Config, WorkerCmd};
use crate::platform::{self, Pid, ProcInfo, StartToken, Stop};

/// How long a worker's port may take to answer before it counts as wedged.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a claude-mem process is to this data dir.
/// Serialized as its [`Class::label`]: one name in text, JSON, metrics and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Class {
    /// Proven, and named by the data dir's PID file.
    #[serde(rename = "worker")]
    Worker,
    /// Answers the configured port, but no PID file names it (or the file is stale).
    #[serde(rename = "unmanaged")]
    Unmanaged,
    /// A worker of another plugin version than the installed one (or the named worker's).
    #[serde(rename = "other-version")]
    OtherVersion,
    /// A second worker for one data dir.
    #[serde(rename = "duplicate")]
    Duplicate,
    /// Accepts TCP on its port, but `/health` gives no answer within the probe timeout.
    #[serde(rename = "wedged")]
    Wedged,
    /// A worker of another data dir of this user's (listed with `--all`, or when it holds
    /// this data dir's port).
    #[serde(rename = "other-data-dir")]
    Foreign,
    /// Another user's worker (listed with `--all`, or when it holds this data dir's port).
    #[serde(rename = "other-user")]
    OtherUser,
    /// A helper whose worker is alive.
    #[serde(rename = "helper")]
    Helper,
    /// A helper whose worker is gone.
    #[serde(rename = "orphaned")]
    OrphanedHelper,
}

impl Class {
    pub const WORKERS: [Class; 7] = [
        Class::Worker,
        Class::Unmanaged,
        Class::OtherVersion,
        Class::Duplicate,
        Class::Wedged,
        Class::Foreign,
        Class::OtherUser,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Class::Worker => "worker",
            Class::Unmanaged => "unmanaged",
            Class::OtherVersion => "other-version",
            Class::Duplicate => "duplicate",
            Class::Wedged => "wedged",
            Class::Foreign => "other-data-dir",
            Class::OtherUser => "other-user",
            Class::Helper => "helper",
            Class::OrphanedHelper => "orphaned",
        }
    }

    pub fn is_worker(self) -> bool {
        !matches!(self, Class::Helper | Class::OrphanedHelper)
    }
}

/// Which of claude-mem's helper programs a process is.
/// Serialized as its [`HelperKind::label`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HelperKind {
    /// The Claude Agent SDK's `claude … --output-format stream-json` (the observer).
    #[serde(rename = "claude")]
    Claude,
    /// `chroma-mcp`, run through `uvx`.
    #[serde(rename = "chroma-mcp")]
    Chroma,
    /// claude-mem's `mcp-server.cjs`.
    #[serde(rename = "mcp-server")]
    McpServer,
    /// The `node -e …` launcher of claude-mem's `.mcp.json`, which Claude Code starts and which
    /// spawns `mcp-server.cjs`.
    #[serde(rename = "mcp-launcher")]
    McpLauncher,
}

impl HelperKind {
    pub const ALL: [HelperKind; 4] = [
        HelperKind::Claude,
        HelperKind::Chroma,
        HelperKind::McpServer,
        HelperKind::McpLauncher,
    ];

    pub fn label(self) -> &'static str {
        match self {
            HelperKind::Claude => "claude",
            HelperKind::Chroma => "chroma-mcp",
            HelperKind::McpServer => "mcp-server",
            HelperKind::McpLauncher => "mcp-launcher",
        }
    }

    /// The kind an argv shows, by its shape alone (never proof).
    pub fn of(argv: &[String]) -> Option<HelperKind> {
        let stream_json = argv
            .windows(2)
            .any(|w| w[0] == "--output-format" && w[1] == "stream-json")
            || argv.iter().any(|a| a == "--output-format=stream-json");
        if stream_json {
            return Some(HelperKind::Claude);
        }
        let names = |want: &str| argv.iter().any(|a| file_stem_is(a, want));
        if names("chroma-mcp") {
            Some(HelperKind::Chroma)
        } else if argv.iter().any(|a| base(a) == "mcp-server.cjs") {
            Some(HelperKind::McpServer)
        } else if is_mcp_launcher(argv) {
            Some(HelperKind::McpLauncher)
        } else {
            None
        }
    }
}

/// `node -e <code>` where the code is claude-mem's `.mcp.json` launcher: it looks for
/// `scripts/mcp-server.cjs` in the `thedotmack` plugin dirs.
fn is_mcp_launcher(argv: &[String]) -> bool {
    let [node, flag, code, ..] = argv else {
        return false;
    };
    file_stem_is(node, "node")
        && (flag == "-e" || flag == "--eval")
        && code.contains("mcp-server.cjs")
        && code.contains("thedotmack")
}

/// Where Claude Code (and Codex) keep this user's plugins: a `mcp-server.cjs` under one of
/// these is claude-mem's as Claude Code installed it.
fn plugin_roots(cfg: &Config) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(d).join("plugins"));
    }
    if let Some(h) = &cfg.home {
        roots.push(h.join(".claude").join("plugins"));
        roots.push(h.join(".codex").join("plugins"));
    }
    roots
}

/// The `mcp-server.cjs` argument under one of `roots` (as written, or as the OS resolves both).
fn plugin_script(argv: &[String], roots: &[PathBuf]) -> Option<String> {
    let script = argv.iter().find(|a| base(a) == "mcp-server.cjs")?;
    let p = Path::new(script);
    if !p.is_absolute() {
        return None;
    }
    let resolved = norm(p);
    roots
        .iter()
        .any(|r| p.starts_with(r) || resolved.starts_with(norm(r)))
        .then(|| script.clone())
}

/// The session that started a process is gone: it was reparented to init (or to a user
/// service manager acting as subreaper), or its parent is gone.
fn reparented(ppid: Pid) -> bool {
    if ppid <= 1 {
        return true;
    }
    match platform::proc_info(ppid).filter(|p| !p.zombie) {
        None => true,
        Some(p) => {
            let init = p.cmdline.first().is_some_and(|a| {
                ["init", "launchd", "tini", "dumb-init"].contains(&base(a))
                    || (base(a) == "systemd" && p.cmdline.iter().any(|x| x == "--user"))
            });
            init
        }
    }
}

/// Why a helper is claude-mem's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum Tie {
    /// It descends from this worker.
    Descendant(Pid),
    /// Its working directory is inside the data dir.
    WorkingDir(String),
    /// An argument points inside the data dir.
    Argument(String),
    /// `CLAUDE_MEM_DATA_DIR` in its environment.
    Environment,
    /// Claude Code's MCP server: its script is in this user's plugin dirs.
    PluginScript(String),
    /// Claude Code's launcher of that server (claude-mem's `.mcp.json` command), this user's.
    PluginLauncher,
}

impl std::fmt::Display for Tie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tie::Descendant(pid) => write!(f, "child of worker {pid}"),
            Tie::WorkingDir(d) => write!(f, "runs in {d}"),
            Tie::Argument(a) => write!(f, "argument {a}"),
            Tie::Environment => write!(f, "CLAUDE_MEM_DATA_DIR in its environment"),
            Tie::PluginScript(s) => write!(f, "runs {s}"),
            Tie::PluginLauncher => write!(f, "claude-mem's .mcp.json launcher"),
        }
    }
}

/// What a worker's port said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// `/health` answered 200.
    Healthy,
    /// It answered, but not 200 (the status code).
    Failing(u16),
    /// It accepts connections but does not answer HTTP.
    Wedged,
    /// It listens on no port we could see.
    NoPort,
    /// Connection refused or another error.
    Unreachable(String),
}

/// One claude-mem process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub pid: Pid,
    pub ppid: Pid,
    pub class: Class,
    /// Helpers only.
    pub kind: Option<HelperKind>,
    pub version: Option<String>,
    #[serde(serialize_with = "files::ser_opt_path")]
    pub data_dir: Option<PathBuf>,
    pub ports: Vec<u16>,
    pub started_at: Option<String>,
    pub age_seconds: Option<u64>,
    pub owner: Option<u32>,
    /// The owner's login name, for another user's process.
    pub user: Option<String>,
    /// Average CPU over its lifetime, percent of one core (as `ps` shows it).
    pub cpu_percent: f64,
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub command: String,
    /// Helpers: the worker they belong to, while it lives.
    pub worker: Option<Pid>,
    /// Helpers: why they are claude-mem's.
    pub tie: Option<Tie>,
    /// Workers: how many helpers descend from them.
    pub helpers: u32,
    /// Workers: what its port said.
    pub answer: Option<Answer>,
    /// The start token, so a later signal can prove it is still the same process.
    #[serde(skip)]
    pub start: StartToken,
}

impl Member {
    /// Still the process the census saw (same PID, same start)?
    pub fn still_same(&self) -> bool {
        platform::is_same(self.pid, self.start)
    }

    /// Ours to signal: our own user's (where the OS has numeric owners).
    pub fn is_ours(&self) -> bool {
        match (self.owner, platform::current_uid()) {
            (Some(o), Some(me)) => o == me,
            _ => true,
        }
    }

    pub fn what(&self) -> String {
        match self.kind {
            Some(k) => format!("{} helper", k.label()),
            None => format!("{} worker", self.class.label()),
        }
    }
}

/// The census of one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Census {
    pub members: Vec<Member>,
}

impl Census {
    pub fn workers(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.class.is_worker())
    }

    pub fn orphans(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| m.class == Class::OrphanedHelper)
    }

    pub fn of_class(&self, class: Class) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(move |m| m.class == class)
    }

    pub fn count(&self, class: Class) -> usize {
        self.of_class(class).count()
    }

    pub fn get(&self, pid: Pid) -> Option<&Member> {
        self.members.iter().find(|m| m.pid == pid)
    }

    /// Workers other than the named one: another version, a duplicate, an unmanaged one.
    pub fn other_workers(&self) -> usize {
        self.workers()
            .filter(|m| matches!(m.class, Class::OtherVersion | Class::Foreign))
            .count()
    }

    /// Helpers of a worker, or orphans, for the tree view.
    pub fn helpers_of(&self, worker: Pid) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |m| !m.class.is_worker() && m.worker == Some(worker))
    }

    /// Resident memory of the orphaned helpers.
    pub fn orphan_rss(&self) -> u64 {
        self.orphans().map(|m| m.rss_bytes).sum()
    }
}

/// What to take a census of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This data dir's processes, and whatever answers its port.
    DataDir,
    /// Every claude-mem process on the host.
    All,
}

fn base(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

fn file_stem_is(arg: &str, want: &str) -> bool {
    let b = base(arg);
    b == want || b.strip_suffix(".exe") == Some(want)
}

/// Is this argv a claude-mem worker (not a hook or CLI call of the same script)?
pub fn is_worker_argv(argv: &[String], configured: &WorkerCmd) -> bool {
    if let Some(i) = argv.iter().position(|a| base(a) == "worker-service.cjs") {
        // `worker-service.cjs` alone (7.x) or with options (`--daemon`, 13.x); a bare word
        // after it (`start`, `hook …`, `stop`) is one of the hooks' short-lived calls.
        return argv.get(i + 1).is_none_or(|a| a.starts_with('-'));
    }
    identity::matches_worker(argv, configured)
}

/// The plugin version in a worker's script path: `…/claude-mem/<version>/scripts/…`, else the
/// `package.json` beside its `scripts/` dir.
pub fn version_from_path(argv: &[String]) -> Option<String> {
    let script = argv.iter().find(|a| base(a) == "worker-service.cjs")?;
    let parts: Vec<&str> = script.split(['/', '\\']).collect();
    if let Some(i) = parts.iter().position(|p| *p == "claude-mem") {
        if let Some(v) = parts
            .get(i + 1)
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            return Some((*v).to_string());
        }
    }
    let scripts = Path::new(script).parent()?;
    let plugin = scripts.parent()?;
    [
        plugin.join("package.json"),
        plugin.parent()?.join("package.json"),
    ]
    .iter()
    .find_map(|p| crate::release::version_of(p))
}

fn inside(path: &Path, dir: &Path) -> bool {
    path == dir || path.starts_with(dir)
}

/// A path argument (`X`, or the value of `--opt=X`) inside `dir`.
fn arg_inside(argv: &[String], dir: &Path) -> Option<String> {
    argv.iter().skip(1).find_map(|a| {
        let value = a.split_once('=').map_or(a.as_str(), |(_, v)| v);
        let p = Path::new(value);
        (p.is_absolute() && inside(&norm(p), dir)).then(|| a.clone())
    })
}

fn env_names_dir(env: &[OsString], dir: &Path) -> bool {
    env.iter().any(|e| {
        e.to_str()
            .and_then(|s| s.strip_prefix("CLAUDE_MEM_DATA_DIR="))
            .is_some_and(|v| norm(Path::new(v)) == dir)
    })
}

#[derive(Debug)]
struct Candidate {
    info: ProcInfo,
    kind: Option<HelperKind>,
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

fn member(info: &ProcInfo, class: Class, kind: Option<HelperKind>) -> Member {
    let age = info
        .started
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    let cpu_percent = match age {
        Some(a) if a.as_secs_f64() > 0.0 => {
            ((info.cpu.as_secs_f64() / a.as_secs_f64()) * 1000.0).round() / 10.0
        }
        _ => 0.0,
    };
    Member {
        pid: info.pid,
        ppid: info.ppid,
        class,
        kind,
        version: None,
        data_dir: None,
        ports: Vec::new(),
        started_at: info
            .started
            .map(|t| files::iso(chrono::DateTime::<chrono::Utc>::from(t))),
        age_seconds: age.map(|a| a.as_secs()),
        owner: info.owner,
        user: info
            .owner
            .filter(|o| Some(*o) != platform::current_uid())
            .and_then(platform::user_name),
        cpu_percent,
        cpu_seconds: seconds(info.cpu),
        rss_bytes: info.rss_bytes,
        command: info.command(),
        worker: None,
        tie: None,
        helpers: 0,
        answer: None,
        start: info.start,
    }
}

/// `/api/health` (version and PID), else `/health`, on `port`.
fn probe(host: IpAddr, port: u16, timeout: Duration) -> (Answer, Option<String>, Option<Pid>) {
    let p = health::get(host, port, "/api/health", timeout);
    let from_json = |r: &health::Response| {
        let v = r.json();
        let version = v.as_ref().and_then(|v| {
            v.get("version")?
                .as_str()
                .map(|s| s.chars().take(40).collect())
        });
        let pid = v
            .as_ref()
            .and_then(|v| v.get("pid")?.as_i64())
            .and_then(|p| Pid::try_from(p).ok());
        (version, pid)
    };
    match &p.result {
        Ok(r) if r.status == 200 => {
            let (version, pid) = from_json(r);
            return (Answer::Healthy, version, pid);
        }
        Err(health::ProbeError::ReadTimeout(_)) | Err(health::ProbeError::ConnectTimeout(_)) => {
            return (Answer::Wedged, None, None)
        }
        _ => {}
    }
    let h = health::get(host, port, "/health", timeout);
    match &h.result {
        Ok(r) if r.status == 200 => {
            let (_, pid) = from_json(r);
            (Answer::Healthy, None, pid)
        }
        Ok(r) => (Answer::Failing(r.status), None, None),
        Err(health::ProbeError::ReadTimeout(_)) | Err(health::ProbeError::ConnectTimeout(_)) => {
            (Answer::Wedged, None, None)
        }
        Err(e) => (Answer::Unreachable(e.to_string()), None, None),
    }
}

impl Answer {
    /// What a `/health` probe's outcome says about the listener.
    pub fn of(p: &health::Probe) -> Answer {
        match &p.result {
            Ok(_) if p.healthy() => Answer::Healthy,
            Ok(r) => Answer::Failing(r.status),
            Err(health::ProbeError::ReadTimeout(_))
            | Err(health::ProbeError::ConnectTimeout(_)) => Answer::Wedged,
            Err(e) => Answer::Unreachable(e.to_string()),
        }
    }
}

/// The named worker of a data dir, if its PID file's process is proven: the file and process
/// layers only (a zero HTTP timeout sends no request).
pub fn named_worker(cfg: &Config) -> Option<Pid> {
    let st = super::status::status(
        cfg,
        super::status::StatusOpts {
            http_timeout: Duration::ZERO,
            ..super::status::StatusOpts::default()
        },
    );
    st.proven().map(|p| p.pid)
}

/// Take the census. `named` is the PID the data dir's PID file proves (from a status read).
pub fn take(cfg: &Config, scope: Scope, named: Option<Pid>) -> Census {
    Scanner::default().take(cfg, scope, named)
}

/// What the configured port already said (a status read's requests): the census does not ask
/// it again. A port that did not answer is not waited on twice either.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub answer: Answer,
    /// The version `/api/health` reported.
    pub version: Option<String>,
    /// The PID the worker reported about itself.
    pub pid: Option<Pid>,
}

/// The processes that may be claude-mem's, with their details: the part of a census that
/// reads the process table and asks no port. [`scan`] takes one (on its own thread, say, while
/// the caller's requests are in flight) and [`take_scanned`] makes the census of it.
#[derive(Debug, Default)]
pub struct Scan {
    candidates: Vec<Candidate>,
}

/// Scan the process table (no port asked).
pub fn scan(cfg: &Config) -> Scan {
    Scan {
        candidates: Scanner::default().candidates(cfg),
    }
}

/// The census of a [`scan`], with what the configured port already said.
pub fn take_scanned(
    cfg: &Config,
    scope: Scope,
    named: Option<Pid>,
    scan: Scan,
    heard: Option<Heard>,
) -> Census {
    classify(
        cfg,
        scope,
        named,
        scan.candidates,
        heard,
        &mut Facts::default(),
    )
}

/// How often a long-lived [`Scanner`] reads every process's command line again (in between it
/// reads only those of new PIDs).
pub const FULL_SCAN: Duration = Duration::from_secs(120);

/// What does not change while a process lives, read once per full scan: a worker's data dir
/// (its environment), ports and path version; an unattached helper's working dir and
/// `CLAUDE_MEM_DATA_DIR`.
#[derive(Debug, Default)]
struct Facts {
    workers: HashMap<(Pid, StartToken), WorkerFacts>,
    helpers: HashMap<(Pid, StartToken), HelperFacts>,
}

/// An unattached helper's working dir, `CLAUDE_MEM_DATA_DIR` entries, and the data dir its
/// environment resolves to.
type HelperFacts = (Option<PathBuf>, Vec<OsString>, Option<PathBuf>);

/// A worker's data dir, listening ports and path version.
type WorkerFacts = (Option<PathBuf>, Vec<u16>, Option<String>);

/// The census for a long-lived caller (the dashboard): the command line of a process that was
/// no candidate is not read again until the next full scan, so a census every few seconds costs
/// one directory listing plus the new PIDs. A PID reused by a new process is seen at the next
/// full scan at the latest.
#[derive(Debug, Default)]
pub struct Scanner {
    facts: Facts,
    not_ours: std::collections::HashSet<Pid>,
    full_at: Option<std::time::Instant>,
}

impl Scanner {
    pub fn take(&mut self, cfg: &Config, scope: Scope, named: Option<Pid>) -> Census {
        let candidates = self.candidates(cfg);
        classify(cfg, scope, named, candidates, None, &mut self.facts)
    }

    /// The processes whose command line is a worker's or a helper's, with their details.
    fn candidates(&mut self, cfg: &Config) -> Vec<Candidate> {
        let me = std::process::id() as Pid;
        let pids = platform::pids();
        if self.full_at.is_none_or(|t| t.elapsed() >= FULL_SCAN) {
            self.not_ours.clear();
            self.facts = Facts::default();
            self.full_at = Some(std::time::Instant::now());
        } else {
            let live: std::collections::HashSet<Pid> = pids.iter().copied().collect();
            self.not_ours.retain(|p| live.contains(p));
        }
        let todo: Vec<Pid> = pids
            .into_iter()
            .filter(|p| *p != me && !self.not_ours.contains(p))
            .collect();
        let mut shown = std::collections::HashSet::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        for (pid, argv) in platform::command_lines_of(&todo) {
            shown.insert(pid);
            let worker = is_worker_argv(&argv, &cfg.worker);
            let kind = if worker { None } else { HelperKind::of(&argv) };
            if !worker && kind.is_none() {
                self.not_ours.insert(pid);
                continue;
            }
            let Some(info) = platform::proc_info(pid).filter(|i| !i.zombie) else {
                continue;
            };
            candidates.push(Candidate { info, kind });
        }
        // No command line to show (kernel threads): not ours either.
        self.not_ours
            .extend(todo.into_iter().filter(|p| !shown.contains(p)));
        candidates
    }
}

fn classify(
    cfg: &Config,
    scope: Scope,
    named: Option<Pid>,
    candidates: Vec<Candidate>,
    heard: Option<Heard>,
    facts: &mut Facts,
) -> Census {
    let here = norm(&cfg.data_dir);
    let reference =
        crate::release::hooks_version(cfg).or_else(|| crate::release::installed_version(cfg));

    // The configured port first (what a status read just saw there, when it did not answer): a
    // worker that reports its own PID there needs no read of the socket table.
    let on_port = candidates
        .iter()
        .any(|c| c.kind.is_none())
        .then(|| match heard {
            Some(h) => (h.answer, h.version, h.pid),
            None => probe(cfg.host, cfg.port, PROBE_TIMEOUT),
        });
    let port_pid = on_port.as_ref().and_then(|(_, _, pid)| *pid);

    // Workers: data dir, ports, and what their port says (other ports probed in parallel: a
    // wedged one costs one timeout, not one per worker).
    let mut workers: Vec<Member> = candidates
        .iter()
        .filter(|c| c.kind.is_none())
        .map(|c| {
            let mut m = member(&c.info, Class::Worker, None);
            let (dir, ports, version) = facts
                .workers
                .entry((c.info.pid, c.info.start))
                .or_insert_with(|| {
                    let ports = if port_pid == Some(c.info.pid) {
                        vec![cfg.port]
                    } else {
                        platform::listening_ports(c.info.pid)
                    };
                    (
                        ownership::data_dir_of_env(
                            &platform::environ(c.info.pid),
                            ownership::runs_claude_mem(&c.info.cmdline),
                        ),
                        ports,
                        version_from_path(&c.info.cmdline),
                    )
                })
                .clone();
            m.data_dir = dir;
            m.ports = ports;
            m.version = version;
            m
        })
        .collect();
    // In this data dir's census another data dir's or user's worker is not asked anything
    // (it is dropped below unless it holds the configured port, whose answer is known): its
    // facts come from the process table, and a status read never waits on a foreign worker.
    let me = platform::current_uid();
    let to_ask = |w: &Member| {
        scope == Scope::All
            || w.ports.contains(&cfg.port)
            || ownership::decide(
                &ownership::Facts {
                    uid: w.owner,
                    data_dir: w.data_dir.clone(),
                },
                &here,
                me,
            )
            .is_ours()
    };
    let ask = |w: &Member| {
        if !to_ask(w) {
            return None;
        }
        let port = w
            .ports
            .iter()
            .copied()
            .find(|p| *p == cfg.port)
            .or(w.ports.first().copied());
        // The configured port was asked already.
        match &on_port {
            Some(known) if port == Some(cfg.port) => Some(known.clone()),
            _ => port.map(|p| probe(cfg.host, p, PROBE_TIMEOUT)),
        }
    };
    // Workers on the configured port (or none) are answered inline; others in parallel, so
    // wedged ones cost one timeout in all.
    let elsewhere = workers
        .iter()
        .filter(|w| !w.ports.contains(&cfg.port) && !w.ports.is_empty() && to_ask(w))
        .count();
    let answers: Vec<_> = if elsewhere <= 1 {
        workers.iter().map(ask).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = workers.iter().map(|w| s.spawn(move || ask(w))).collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        })
    };
    for (w, a) in workers.iter_mut().zip(answers) {
        match a {
            Some((answer, version, _pid)) => {
                if version.is_some() {
                    w.version = version;
                }
                w.answer = Some(answer);
            }
            None => w.answer = Some(Answer::NoPort),
        }
    }
    let named_version = named
        .and_then(|n| workers.iter().find(|w| w.pid == n))
        .and_then(|w| w.version.clone());
    let reference = reference.or(named_version);
    // Which worker of this data dir counts as the one (the named one, else the one on the
    // configured port, else the oldest): the others are duplicates.
    let primary = named
        .filter(|n| workers.iter().any(|w| w.pid == *n))
        .or_else(|| {
            workers
                .iter()
                .filter(|w| w.ports.contains(&cfg.port))
                .map(|w| w.pid)
                .next()
        });
    for w in &mut workers {
        // Whose it is first: on this data dir's port or not, another user's or another data
        // dir's worker is never this data dir's (a port can be shared, a PID file copied).
        let owner = ownership::decide(
            &ownership::Facts {
                uid: w.owner,
                data_dir: w.data_dir.clone(),
            },
            &here,
            me,
        );
        w.class = worker_class(&ClassFacts {
            owner: &owner,
            on_port: w.ports.contains(&cfg.port),
            wedged: w.answer == Some(Answer::Wedged),
            other_version: matches!((&w.version, &reference), (Some(v), Some(r)) if v != r),
            named: Some(w.pid) == named,
            primary: Some(w.pid) == primary,
        });
    }

    // Helpers: tie each to a worker (by descent) or to a data dir.
    let worker_pids: HashMap<Pid, usize> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.pid, i))
        .collect();
    let mut dirs: Vec<PathBuf> = vec![here.clone()];
    for w in &workers {
        if let Some(d) = &w.data_dir {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
    }
    let mut parents: HashMap<Pid, Option<(Pid, StartToken)>> = HashMap::new();
    let mut helpers = Vec::new();
    let roots = plugin_roots(cfg);
    for c in candidates.iter().filter(|c| c.kind.is_some()) {
        let kind = c.kind;
        let mut m = member(&c.info, Class::Helper, kind);
        let ancestor = live_worker_ancestor(&c.info, &worker_pids, &mut parents);
        if let Some(wp) = ancestor {
            let w = &workers[worker_pids[&wp]];
            m.worker = Some(wp);
            m.tie = Some(Tie::Descendant(wp));
            m.data_dir = w.data_dir.clone();
        } else {
            let (cwd, env, env_dir) = facts
                .helpers
                .entry((c.info.pid, c.info.start))
                .or_insert_with(|| {
                    let full = platform::environ(c.info.pid);
                    let env_dir = ownership::data_dir_of_env(&full, true);
                    // Only what a tie needs of the environment.
                    let env: Vec<OsString> = full
                        .into_iter()
                        .filter(|e| {
                            e.to_str()
                                .is_some_and(|s| s.starts_with("CLAUDE_MEM_DATA_DIR="))
                        })
                        .collect();
                    (platform::cwd(c.info.pid).map(|p| norm(&p)), env, env_dir)
                })
                .clone();
            let found = dirs.iter().find_map(|d| {
                if let Some(cwd) = cwd.as_ref().filter(|p| inside(p, d)) {
                    return Some((d.clone(), Tie::WorkingDir(cwd.display().to_string())));
                }
                if let Some(a) = arg_inside(&c.info.cmdline, d) {
                    return Some((d.clone(), Tie::Argument(a)));
                }
                env_names_dir(&env, d).then(|| (d.clone(), Tie::Environment))
            });
            // Claude Code's MCP server and its launcher carry no claude-mem variable and run in
            // the user's project: their tie is the plugin's own script or launcher, this
            // user's, and the data dir their environment resolves to.
            let found = found.or_else(|| {
                let mine = c.info.owner.is_none() || c.info.owner == me;
                let tie = match kind {
                    Some(HelperKind::McpServer) => {
                        plugin_script(&c.info.cmdline, &roots).map(Tie::PluginScript)
                    }
                    Some(HelperKind::McpLauncher) => Some(Tie::PluginLauncher),
                    _ => None,
                }
                .filter(|_| mine)?;
                Some((env_dir.clone()?, tie))
            });
            let Some((dir, tie)) = found else {
                // A name alone is never proof.
                continue;
            };
            m.data_dir = Some(dir);
            m.tie = Some(tie);
            // Claude Code's MCP pair belongs to a running session until that session is gone
            // (the launcher reparented; the server's launcher gone or itself reparented).
            let session_gone = |info: &ProcInfo| {
                reparented(info.ppid)
                    || candidates.iter().any(|p| {
                        p.info.pid == info.ppid
                            && p.kind == Some(HelperKind::McpLauncher)
                            && reparented(p.info.ppid)
                    })
            };
            m.class = if matches!(kind, Some(HelperKind::McpServer | HelperKind::McpLauncher))
                && !session_gone(&c.info)
            {
                Class::Helper
            } else {
                Class::OrphanedHelper
            };
        }
        helpers.push(m);
    }
    // Every other descendant of this data dir's workers (a `sh -c which claude` the worker runs
    // at boot, a child of its own): listed under the worker as a plain child, never a name.
    let listed: std::collections::HashSet<Pid> = helpers.iter().map(|h| h.pid).collect();
    for w in workers
        .iter()
        .filter(|w| !matches!(w.class, Class::Foreign | Class::OtherUser))
    {
        for pid in platform::descendants(w.pid) {
            if pid == w.pid || listed.contains(&pid) || worker_pids.contains_key(&pid) {
                continue;
            }
            let Some(info) = platform::proc_info(pid).filter(|i| !i.zombie) else {
                continue;
            };
            let mut m = member(&info, Class::Helper, None);
            m.worker = Some(w.pid);
            m.tie = Some(Tie::Descendant(w.pid));
            m.data_dir = w.data_dir.clone();
            helpers.push(m);
        }
    }
    for h in &helpers {
        if let Some(w) = h.worker.and_then(|w| worker_pids.get(&w)) {
            workers[*w].helpers += 1;
        }
    }
    let mut members = workers;
    members.extend(helpers);
    if scope == Scope::DataDir {
        // This data dir's processes, and any worker on its port; workers of other data dirs go.
        members.retain(|m| {
            m.data_dir.as_deref() == Some(here.as_path())
                || (m.class.is_worker() && m.ports.contains(&cfg.port))
        });
    }
    members.sort_by_key(|m| {
        (
            !m.class.is_worker(),
            m.worker.unwrap_or(m.pid),
            m.kind.is_some(),
            m.pid,
        )
    });
    Census { members }
}

/// What the class of a worker is decided from (gathered by [`take`]; no I/O in the rule).
#[derive(Debug, Clone, Copy)]
struct ClassFacts<'a> {
    owner: &'a ownership::Owner,
    /// It listens on the configured port.
    on_port: bool,
    /// Its port accepts and never answers.
    wedged: bool,
    /// Its version is not the installed plugin's (or the named worker's).
    other_version: bool,
    /// The data dir's PID file proves it.
    named: bool,
    /// The one this data dir counts (named, else on the configured port).
    primary: bool,
}

/// The class rule. Whose it is comes first: on this data dir's port or not, another user's or
/// another data dir's worker is never this data dir's (a port can be shared, a PID file copied);
/// a worker whose environment cannot be read counts as this data dir's only on its port.
fn worker_class(f: &ClassFacts) -> Class {
    let mine = match f.owner {
        ownership::Owner::Ours => true,
        ownership::Owner::Unread => f.on_port,
        _ => false,
    };
    if matches!(f.owner, ownership::Owner::OtherUser { .. }) {
        Class::OtherUser
    } else if f.wedged && mine {
        Class::Wedged
    } else if !mine {
        Class::Foreign
    } else if f.other_version {
        Class::OtherVersion
    } else if f.named {
        Class::Worker
    } else if f.primary {
        Class::Unmanaged
    } else {
        Class::Duplicate
    }
}

/// The nearest live worker above `info`, following parent links only where each parent
/// started no later than its child (a reused parent PID is not a parent).
fn live_worker_ancestor(
    info: &ProcInfo,
    workers: &HashMap<Pid, usize>,
    cache: &mut HashMap<Pid, Option<(Pid, StartToken)>>,
) -> Option<Pid> {
    let mut pid = info.ppid;
    let mut child_start = info.start;
    for _ in 0..64 {
        if pid <= 1 {
            return None;
        }
        let entry = *cache.entry(pid).or_insert_with(|| {
            platform::proc_info(pid)
                .filter(|p| !p.zombie)
                .map(|p| (p.ppid, p.start))
        });
        let (ppid, start) = entry?;
        if start > child_start {
            return None;
        }
        if workers.contains_key(&pid) {
            return Some(pid);
        }
        child_start = start;
        pid = ppid;
    }
    None
}

/// What `reap` did with one orphan.
#[derive(Debug, Clone, Serialize)]
pub struct Reaped {
    pub pid: Pid,
    pub kind: Option<HelperKind>,
    pub command: String,
    pub rss_bytes: u64,
    pub outcome: ReapOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReapOutcome {
    /// Listed only (`--dry-run`).
    Listed,
    /// Ended by SIGTERM (Windows: terminated).
    Ended,
    /// Ended by SIGKILL after the grace period.
    Killed,
    /// Not signalled: it is no longer the process the census saw.
    Changed,
    /// Not signalled: another user's.
    NotOurs,
    /// Signalled but still alive after the grace period and SIGKILL.
    Survived,
    /// Gone before its signal: an MCP server or launcher that ended with its partner.
    Gone,
}

/// End these census members, each proven again (same PID, same start, ours) right before its
/// signal: SIGTERM, then SIGKILL after `grace`.
pub fn end(members: &[&Member], grace: Duration, dry_run: bool) -> Vec<Reaped> {
    // Claude Code's MCP launchers first: each forwards its signal to its server and exits.
    let mut members = members.to_vec();
    members.sort_by_key(|m| m.kind != Some(HelperKind::McpLauncher));
    members
        .iter()
        .map(|m| {
            let outcome = if dry_run {
                ReapOutcome::Listed
            } else if !m.is_ours() {
                ReapOutcome::NotOurs
            } else {
                end_one(m, grace)
            };
            Reaped {
                pid: m.pid,
                kind: m.kind,
                command: m.command.clone(),
                rss_bytes: m.rss_bytes,
                outcome,
            }
        })
        .collect()
}

fn end_one(m: &Member, grace: Duration) -> ReapOutcome {
    // The handle is opened only for this PID with this start: a reused PID fails here.
    let Some(handle) = platform::ProcHandle::open(m.pid, m.start) else {
        let pair = matches!(
            m.kind,
            Some(HelperKind::McpServer | HelperKind::McpLauncher)
        );
        return if pair && !platform::alive(m.pid) {
            ReapOutcome::Gone
        } else {
            ReapOutcome::Changed
        };
    };
    if !m.still_same() {
        return ReapOutcome::Changed;
    }
    // Graceful first where the OS has a way (SIGTERM; Windows has none for a process without
    // our console), then forced through the same handle.
    let graceful = handle.signal(Stop::Graceful);
    if graceful && handle.wait_exit(grace) {
        return ReapOutcome::Ended;
    }
    if !handle.signal(Stop::Force) {
        return if handle.exited() {
            ReapOutcome::Ended
        } else {
            ReapOutcome::Changed
        };
    }
    if !handle.wait_exit(Duration::from_secs(2)) {
        ReapOutcome::Survived
    } else if graceful {
        ReapOutcome::Killed
    } else {
        ReapOutcome::Ended
    }
}

/// The proven orphaned helpers of this data dir.
pub fn reapable(census: &Census, cfg: &Config) -> Vec<Member> {
    let here = norm(&cfg.data_dir);
    census
        .orphans()
        .filter(|m| m.data_dir.as_deref() == Some(here.as_path()) && m.tie.is_some())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn helper_kinds_by_shape() {
        assert_eq!(
            HelperKind::of(&v(&[
                "claude",
                "--output-format",
                "stream-json",
                "--verbose"
            ])),
            Some(HelperKind::Claude)
        );
        assert_eq!(
            HelperKind::of(&v(&[
                "/home/u/.local/bin/uvx",
                "chroma-mcp",
                "--client-type",
                "persistent"
            ])),
            Some(HelperKind::Chroma)
        );
        assert_eq!(
            HelperKind::of(&v(&["bun", "/x/plugin/scripts/mcp-server.cjs"])),
            Some(HelperKind::McpServer)
        );
        assert_eq!(HelperKind::of(&v(&["claude", "--print"])), None);
        assert_eq!(HelperKind::of(&v(&["chroma-mcp-fork"])), None);
    }

    #[test]
    fn workers_not_hooks() {
        let cfg = WorkerCmd::parse("/nonexistent/w", "t").expect("cmd");
        let script =
            "/h/.claude/plugins/cache/thedotmack/claude-mem/12.4.7/scripts/worker-service.cjs";
        assert!(is_worker_argv(&v(&["bun", script, "--daemon"]), &cfg));
        assert!(is_worker_argv(&v(&["bun", script]), &cfg));
        assert!(!is_worker_argv(
            &v(&["bun", script, "hook", "claude-code", "context"]),
            &cfg
        ));
        assert!(!is_worker_argv(
            &v(&["node", "bun-runner.js", script, "start"]),
            &cfg
        ));
        assert_eq!(
            version_from_path(&v(&["bun", script])).as_deref(),
            Some("12.4.7")
        );
        assert!(!is_worker_argv(&v(&["sleep", "1"]), &cfg));
    }

    #[test]
    fn the_worker_class_rule_as_a_table() {
        use ownership::Owner;
        let ours = Owner::Ours;
        let unread = Owner::Unread;
        let other_dir = Owner::OtherDataDir {
            data_dir: "/a".into(),
        };
        let other_user = Owner::OtherUser {
            uid: 0,
            user: Some("root".into()),
            data_dir: None,
        };
        // (owner, on_port, wedged, other_version, named, primary) → class
        let table: [(&Owner, [bool; 5], Class); 12] = [
            (&ours, [true, false, false, true, true], Class::Worker),
            (&ours, [true, false, false, false, true], Class::Unmanaged),
            (&ours, [false, false, false, false, false], Class::Duplicate),
            (&ours, [true, true, false, true, true], Class::Wedged),
            (&ours, [true, false, true, true, true], Class::OtherVersion),
            (&unread, [true, false, false, false, true], Class::Unmanaged),
            (&unread, [false, false, false, false, false], Class::Foreign),
            // A copied PID file or a shared port never makes another's worker ours.
            (&other_dir, [true, false, false, true, true], Class::Foreign),
            (&other_dir, [true, true, false, false, true], Class::Foreign),
            (
                &other_user,
                [true, false, false, true, true],
                Class::OtherUser,
            ),
            (
                &other_user,
                [true, true, true, false, false],
                Class::OtherUser,
            ),
            (
                &other_user,
                [false, false, false, false, false],
                Class::OtherUser,
            ),
        ];
        for (owner, [on_port, wedged, other_version, named, primary], want) in table {
            let f = ClassFacts {
                owner,
                on_port,
                wedged,
                other_version,
                named,
                primary,
            };
            assert_eq!(worker_class(&f), want, "{f:?}");
        }
    }

    #[test]
    fn one_name_per_class_and_kind_in_text_and_json() {
        for c in Class::WORKERS
            .into_iter()
            .chain([Class::Helper, Class::OrphanedHelper])
        {
            assert_eq!(serde_json::to_value(c).ok(), Some(c.label().into()));
        }
        for k in HelperKind::ALL {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.label().into()));
        }
    }

    #[test]
    fn path_arguments_inside_a_dir() {
        let dir = std::env::temp_dir();
        let dir = norm(&dir);
        let inner = dir.join("vector-db").display().to_string();
        assert_eq!(
            arg_inside(&v(&["chroma-mcp", "--data-dir", &inner]), &dir),
            Some(inner.clone())
        );
        assert!(arg_inside(&v(&["chroma-mcp", &format!("--data-dir={inner}")]), &dir).is_some());
        assert_eq!(
            arg_inside(&v(&["chroma-mcp", "--data-dir", "relative"]), &dir),
            None
        );
    }
}
