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
//!
//! Two rooms: `gather.rs` reads the OS, the files and the network (the process scan, ports,
//! environments, working dirs, parent links, the plugin dirs, and the answers of the listeners
//! the rules ask about) into plain facts; `classify.rs` holds every rule and does no I/O: it
//! makes the [`Census`] of those facts. `end.rs` signals.

use std::path::PathBuf;

use serde::Serialize;

use super::files;
use super::health;
use super::identity;
use crate::config::{Config, WorkerCmd};
use crate::platform::{self, Pid, StartToken};

mod classify;
mod end;
mod gather;
#[cfg(test)]
mod tests;

pub use end::{end, reapable, ReapOutcome, Reaped};
pub use gather::{named_worker, scan, version_from_path, Scan, Scanner, FULL_SCAN, PROBE_TIMEOUT};

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

/// Take the census. `named` is the PID the data dir's PID file proves (from a status read).
pub fn take(cfg: &Config, scope: Scope, named: Option<Pid>) -> Census {
    Scanner::default().take(cfg, scope, named)
}

/// The census of a [`scan`], with what the configured port already said and the installed
/// plugin's version (both read by the status read already).
pub fn take_scanned(
    cfg: &Config,
    scope: Scope,
    named: Option<Pid>,
    scan: Scan,
    heard: Option<Heard>,
    reference: Option<String>,
) -> Census {
    let Scan {
        candidates,
        mut cache,
    } = scan;
    let facts = gather::gather(cfg, scope, named, candidates, heard, reference, &mut cache);
    classify::classify(&facts)
}

impl Scanner {
    /// Gather (what does not change while a process lives is read once per full scan), then
    /// classify.
    pub fn take(&mut self, cfg: &Config, scope: Scope, named: Option<Pid>) -> Census {
        classify::classify(&self.gather(cfg, scope, named))
    }
}
