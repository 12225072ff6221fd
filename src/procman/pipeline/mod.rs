//! Pipeline health: what a `/health` 200 does not say. A 13.x worker can answer healthy while its
//! optional dependencies are missing (`/api/health` `dependencies`), Chroma is down
//! (`/api/chroma/status`), the observer keeps failing (`observer-health.json`), the hooks have
//! locked themselves out (`state/hook-failures.json`), prompts arrive but no observation is stored
//! (the database), or hooks kill and restart it in a loop (the log).
//!
//! Parsing (`parse.rs`) and judging (`evaluate.rs`) are pure. `read.rs` does the rest:
//! [`read_local`] the disk (small state files, one read-only DB query, the tail of the newest
//! logs), and [`complete`] adds the worker's answers the status read brought. A missing file or
//! a 404 means "nothing to say" (7.1.0 workers have none of this), never degraded; a malformed
//! file is a note naming it, never a panic. None of this changes the worker's state or exit code.

use std::time::Duration;

use serde::{Serialize, Serializer};

mod evaluate;
mod parse;
mod read;
#[cfg(test)]
mod tests;

pub use evaluate::evaluate;
use parse::cap;
pub use parse::{
    count_restarts, first_time, line_time, parse_chroma, parse_dependencies, parse_hooks,
    parse_observer, parse_threshold,
};
pub use read::{complete, hook_threshold, read_local, read_restarts, Inputs, Local};

/// `observer-health.json` in the data dir (written by the 13.x worker).
pub const OBSERVER_HEALTH_FILE: &str = "observer-health.json";
/// `state/hook-failures.json` in the data dir (written by the 13.x hooks).
pub const HOOK_FAILURES_FILE: &str = "state/hook-failures.json";
/// The settings key (and environment variable) of the hooks' lock-out threshold.
pub const HOOK_THRESHOLD_KEY: &str = "CLAUDE_MEM_HOOK_FAIL_LOUD_THRESHOLD";
/// claude-mem's default for [`HOOK_THRESHOLD_KEY`].
pub const DEFAULT_HOOK_THRESHOLD: u64 = 3;
/// Consecutive observer failures that make the pipeline degraded (claude-mem's own threshold).
pub const OBSERVER_FAIL_THRESHOLD: u64 = 3;
/// `--stall-after`'s default.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(30 * 60);
/// More worker starts (or version-mismatch kills) than this in an hour is a restart loop.
pub const FLAP_LIMIT: u64 = 5;
/// The window of the restart count.
pub const FLAP_WINDOW: Duration = Duration::from_secs(3600);
/// State files are small; a long `lastErrorMessage` (claude-mem cuts it at 600) still fits.
const STATE_FILE_CAP: u64 = 64 * 1024;
/// How much of each log's end the restart count reads at most (an hour of a very busy log may hold
/// more: the count is then over its newest 4 MB, still far past a loop's 5 an hour).
const LOG_TAIL_BYTES: u64 = 4 * 1024 * 1024;
/// Text we keep of a message from the worker or a file.
const TEXT_CAP: usize = 600;

/// The log message of a hook that kills a worker of another version.
pub const MISMATCH_LINE: &str = "Worker version mismatch";
/// The log message of a worker that starts listening (13.x and the stand-in).
pub const START_LINE: &str = "HTTP server started";

/// A dependency the 13.x worker reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    ClaudeCli,
    Uvx,
    Chroma,
    /// A name a later release may add.
    Other(String),
}

impl Dependency {
    pub fn parse(s: &str) -> Dependency {
        match s {
            "claude_cli" => Dependency::ClaudeCli,
            "uvx" => Dependency::Uvx,
            "chroma" => Dependency::Chroma,
            other => Dependency::Other(cap(other, 64)),
        }
    }

    /// The worker's own name (`claude_cli`, `uvx`, `chroma`, …): the metrics label too.
    pub fn name(&self) -> &str {
        match self {
            Dependency::ClaudeCli => "claude_cli",
            Dependency::Uvx => "uvx",
            Dependency::Chroma => "chroma",
            Dependency::Other(s) => s,
        }
    }

    /// The dependencies every metrics scrape reports (0 when fine), so a series never vanishes.
    pub const KNOWN: [Dependency; 3] = [Dependency::ClaudeCli, Dependency::Uvx, Dependency::Chroma];
}

impl Serialize for Dependency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One entry of `/api/health` `dependencies.statuses` (the worker lists only degraded ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyStatus {
    pub dependency: Dependency,
    /// `setup_required`, `vector_search_unavailable`, … (the worker's open set).
    pub kind: String,
    pub message: String,
    pub remediation: Option<String>,
    pub recorded_at_ms: Option<u64>,
}

/// `/api/health` `dependencies`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dependencies {
    pub degraded: bool,
    pub statuses: Vec<DependencyStatus>,
}

/// `/api/chroma/status` `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChromaState {
    Healthy,
    Unhealthy,
    Disabled,
    Other(String),
}

impl ChromaState {
    pub fn label(&self) -> &str {
        match self {
            ChromaState::Healthy => "healthy",
            ChromaState::Unhealthy => "unhealthy",
            ChromaState::Disabled => "disabled",
            ChromaState::Other(s) => s,
        }
    }
}

impl Serialize for ChromaState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chroma {
    pub status: ChromaState,
    pub connected: Option<bool>,
    pub details: Option<String>,
}

/// `observer-health.json` (times in ms since the epoch, as the worker writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observer {
    pub consecutive_failures: u64,
    pub failing_since_ms: Option<u64>,
    pub last_error_at_ms: Option<u64>,
    pub last_error_message: Option<String>,
    pub last_success_at_ms: Option<u64>,
}

/// `state/hook-failures.json` and the threshold it is measured against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hooks {
    pub consecutive_failures: u64,
    pub last_failure_at_ms: Option<u64>,
    pub threshold: u64,
}

/// Prompts against observations, from the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PromptFlow {
    pub newest_prompt_ms: Option<i64>,
    pub newest_observation_ms: Option<i64>,
    /// Prompts newer than the newest observation.
    pub prompts_since_observation: u64,
    /// The oldest of those: the pipeline has had since then to store something.
    pub oldest_unobserved_prompt_ms: Option<i64>,
}

/// Worker starts and version-mismatch kills in the last hour, from the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Restarts {
    pub starts_last_hour: u64,
    pub version_mismatches_last_hour: u64,
}

/// Why something the pipeline reads could not be used: each becomes one note, never a finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{file} is not valid JSON ({reason}): ignored")]
    NotJson { file: &'static str, reason: String },
    #[error("{file} is not a JSON object: ignored")]
    NotObject { file: &'static str },
    #[error("{0}: ignored")]
    File(super::files::FileProblem),
    #[error("claude-mem.db: {0}")]
    Db(String),
    #[error("/api/chroma/status: {0}")]
    Chroma(String),
}

/// What the dashboard's badge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Working in part: a dependency, Chroma, the observer or the hooks fail.
    Degraded,
    /// Prompts arrive but no observation is stored.
    Stalled,
    /// A restart loop.
    Flapping,
    /// The running worker is not the installed release (the hooks will kill it).
    VersionMismatch,
}

impl Signal {
    /// The word in `status` and on the dashboard.
    pub fn label(self) -> &'static str {
        match self {
            Signal::Degraded => "DEGRADED",
            Signal::Stalled => "STALLED",
            Signal::Flapping => "FLAPPING",
            Signal::VersionMismatch => "VERSION MISMATCH",
        }
    }

    /// Whether it earns a badge in the header (a version mismatch is a warning).
    pub fn badge(self) -> bool {
        !matches!(self, Signal::VersionMismatch)
    }
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Dependencies,
    Chroma,
    Observer,
    Hooks,
    Database,
    Log,
    Versions,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Dependencies => "dependencies",
            Source::Chroma => "chroma",
            Source::Observer => "observer",
            Source::Hooks => "hooks",
            Source::Database => "database",
            Source::Log => "log",
            Source::Versions => "versions",
        }
    }
}

/// One thing wrong, with the reason and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub signal: Signal,
    pub source: Source,
    /// The dependency's name, where there is one.
    pub subject: Option<String>,
    pub reason: String,
    pub fix: String,
}

/// The running worker's version next to the installed one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Versions {
    pub running: Option<String>,
    /// The release the hooks run (`plugins/cache/…/<version>`), else the marketplace's.
    pub installed: Option<String>,
}

/// Everything this module found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    /// `DEGRADED`, `STALLED`, `FLAPPING`, each once, in that order.
    pub badges: Vec<Signal>,
    pub findings: Vec<Finding>,
    pub dependencies: Option<Dependencies>,
    pub chroma: Option<Chroma>,
    pub observer: Option<Observer>,
    pub hooks: Option<Hooks>,
    pub activity: Option<PromptFlow>,
    pub restarts: Option<Restarts>,
    pub versions: Versions,
    pub stall_after_seconds: u64,
    /// What could not be read (a malformed file, an unreadable DB), one line each.
    pub notes: Vec<String>,
}

impl Pipeline {
    /// The badges' words, for headers: `DEGRADED STALLED`.
    pub fn badge_labels(&self) -> Vec<&'static str> {
        self.badges.iter().map(|b| b.label()).collect()
    }

    /// 1 for each degraded dependency the worker reports.
    pub fn dependency_degraded(&self, d: &Dependency) -> bool {
        self.dependencies
            .as_ref()
            .is_some_and(|x| x.statuses.iter().any(|s| &s.dependency == d))
    }
}
