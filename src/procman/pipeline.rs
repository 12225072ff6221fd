//! Pipeline health: what a `/health` 200 does not say. A 13.x worker can answer healthy while its
//! optional dependencies are missing (`/api/health` `dependencies`), Chroma is down
//! (`/api/chroma/status`), the observer keeps failing (`observer-health.json`), the hooks have
//! locked themselves out (`state/hook-failures.json`), prompts arrive but no observation is stored
//! (the database), or hooks kill and restart it in a loop (the log).
//!
//! Parsing is pure (the functions below take text or JSON); [`read`] does the I/O: small state
//! files, one read-only DB query, the tail of the newest logs, one HTTP request. A missing file or
//! a 404 means "nothing to say" (7.1.0 workers have none of this), never degraded; a malformed
//! file is a note naming it, never a panic. None of this changes the worker's state or exit code.

use std::path::Path;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::files;
use super::health;
use crate::config::Config;

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
/// How much of each log's end the restart count reads.
const LOG_TAIL_BYTES: u64 = 8 * 1024 * 1024;
/// Text we keep of a message from the worker or a file.
const TEXT_CAP: usize = 600;
const HTTP_TIMEOUT: Duration = Duration::from_millis(500);

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
pub struct Activity {
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
    pub activity: Option<Activity>,
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

fn cap(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// One line: a multi-line message (`Please either:\n1. …`) joined with spaces.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)?
        .as_str()
        .map(|s| cap(s.trim(), TEXT_CAP))
        .filter(|s| !s.is_empty())
}

/// A time in ms: a number, or an ISO-8601 string (older files).
fn time_ms(v: &serde_json::Value, k: &str) -> Option<u64> {
    match v.get(k)? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis().max(0) as u64),
        _ => None,
    }
}

fn count(v: &serde_json::Value, k: &str) -> u64 {
    v.get(k)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f.max(0.0) as u64)))
        .unwrap_or(0)
}

/// `dependencies` out of an `/api/health` body; `None` when the worker does not report them.
pub fn parse_dependencies(health: &serde_json::Value) -> Option<Dependencies> {
    let d = health.get("dependencies")?;
    let statuses: Vec<DependencyStatus> = d
        .get("statuses")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some(DependencyStatus {
                        dependency: Dependency::parse(s.get("dependency")?.as_str()?),
                        kind: text(s, "kind").unwrap_or_else(|| "unknown".into()),
                        message: text(s, "message").unwrap_or_default(),
                        remediation: text(s, "remediation"),
                        recorded_at_ms: time_ms(s, "recordedAtMs"),
                    })
                })
                .take(16)
                .collect()
        })
        .unwrap_or_default();
    let degraded = d
        .get("degraded")
        .and_then(|x| x.as_bool())
        .unwrap_or(!statuses.is_empty());
    Some(Dependencies { degraded, statuses })
}

/// An `/api/chroma/status` body.
pub fn parse_chroma(v: &serde_json::Value) -> Option<Chroma> {
    let status = match v.get("status")?.as_str()? {
        "healthy" => ChromaState::Healthy,
        "unhealthy" => ChromaState::Unhealthy,
        "disabled" => ChromaState::Disabled,
        other => ChromaState::Other(cap(other, 40)),
    };
    Some(Chroma {
        status,
        connected: v.get("connected").and_then(|x| x.as_bool()),
        details: text(v, "details"),
    })
}

fn object(name: &str, raw: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| format!("{name} is not valid JSON ({e}): ignored"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("{name} is not a JSON object: ignored"))
    }
}

/// `observer-health.json`'s text.
pub fn parse_observer(raw: &str) -> Result<Observer, String> {
    let v = object(OBSERVER_HEALTH_FILE, raw)?;
    Ok(Observer {
        consecutive_failures: count(&v, "consecutiveFailures"),
        failing_since_ms: time_ms(&v, "failingSinceAt"),
        last_error_at_ms: time_ms(&v, "lastErrorAt"),
        last_error_message: text(&v, "lastErrorMessage"),
        last_success_at_ms: time_ms(&v, "lastSuccessAt"),
    })
}

/// `state/hook-failures.json`'s text, measured against `threshold`.
pub fn parse_hooks(raw: &str, threshold: u64) -> Result<Hooks, String> {
    let v = object(HOOK_FAILURES_FILE, raw)?;
    Ok(Hooks {
        consecutive_failures: count(&v, "consecutiveFailures"),
        last_failure_at_ms: time_ms(&v, "lastFailureAt").filter(|t| *t > 0),
        threshold,
    })
}

/// The threshold as claude-mem reads it: an integer ≥ 1, else the default.
pub fn parse_threshold(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(DEFAULT_HOOK_THRESHOLD)
}

/// The local time at the start of a formatted log line (`[2026-11-24 10:53:24.194] …`).
pub fn line_time(line: &str) -> Option<chrono::NaiveDateTime> {
    let stamp = line.strip_prefix('[')?.get(..23)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.3f").ok()
}

/// Count worker starts and version-mismatch kills at or after `since` (local time, as the log's
/// stamps are). Continuation lines (no stamp) count for nothing.
pub fn count_restarts<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    since: chrono::NaiveDateTime,
) -> Restarts {
    let mut r = Restarts::default();
    for l in lines {
        let Some(t) = line_time(l) else { continue };
        if t < since {
            continue;
        }
        if l.contains(MISMATCH_LINE) {
            r.version_mismatches_last_hour += 1;
        } else if l.contains(START_LINE) {
            r.starts_last_hour += 1;
        }
    }
    r
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            crate::platform::to_local(d)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms).max(0) / 1000) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{} days", s / 86400),
    }
}

/// Turn what was read into findings and badges. Pure: `now_ms` is the clock.
pub fn evaluate(p: &mut Pipeline, stall_after: Duration, now_ms: i64) {
    let mut out = Vec::new();
    if let Some(d) = &p.dependencies {
        for s in &d.statuses {
            out.push(Finding {
                signal: Signal::Degraded,
                source: Source::Dependencies,
                subject: Some(s.dependency.name().to_string()),
                reason: format!(
                    "{} {}{}",
                    s.dependency.name(),
                    s.kind,
                    if s.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", one_line(&s.message))
                    }
                ),
                fix: s
                    .remediation
                    .clone()
                    .unwrap_or_else(|| format!("see the worker log for {}", s.dependency.name())),
            });
        }
        if d.degraded && d.statuses.is_empty() {
            out.push(Finding {
                signal: Signal::Degraded,
                source: Source::Dependencies,
                subject: None,
                reason: "the worker reports degraded dependencies without naming them".into(),
                fix: "see `claude-mem-top logs --level warn`".into(),
            });
        }
    }
    if let Some(c) = p
        .chroma
        .as_ref()
        .filter(|c| c.status == ChromaState::Unhealthy)
    {
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Chroma,
            subject: Some("chroma".into()),
            reason: format!(
                "Chroma is unhealthy{}: semantic search falls back to keywords",
                c.details
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            fix: "check that uvx can run chroma-mcp (`uvx chroma-mcp --help`), then restart the \
                  worker; GET /api/chroma/status?deep=1 probes further"
                .into(),
        });
    }
    if let Some(o) = p
        .observer
        .as_ref()
        .filter(|o| o.consecutive_failures >= OBSERVER_FAIL_THRESHOLD)
    {
        let since = o
            .failing_since_ms
            .map(|t| format!(" since {}", when(t as i64)))
            .unwrap_or_default();
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Observer,
            subject: None,
            reason: format!(
                "the observer failed {} times in a row{since}: {}",
                o.consecutive_failures,
                o.last_error_message
                    .as_deref()
                    .map_or_else(|| "no error message".to_string(), one_line)
            ),
            fix: "fix the cause in the last error (often the `claude` CLI's login or quota), \
                  then restart the worker"
                .into(),
        });
    }
    if let Some(h) = p
        .hooks
        .as_ref()
        .filter(|h| h.consecutive_failures >= h.threshold)
    {
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Hooks,
            subject: None,
            reason: format!(
                "the hooks could not reach the worker {} times in a row (threshold {}){}",
                h.consecutive_failures,
                h.threshold,
                h.last_failure_at_ms
                    .map(|t| format!(", last at {}", when(t as i64)))
                    .unwrap_or_default()
            ),
            fix: format!(
                "make the worker answer (`claude-mem-top start`); the next hook that reaches it \
                 resets {HOOK_FAILURES_FILE}"
            ),
        });
    }
    if let Some(a) = &p.activity {
        let limit = stall_after.as_millis() as i64;
        if let Some(first) = a
            .oldest_unobserved_prompt_ms
            .filter(|t| now_ms - *t >= limit)
        {
            let last_obs = a
                .newest_observation_ms
                .map(|t| format!("the last at {} ({} ago)", when(t), ago(now_ms, t)))
                .unwrap_or_else(|| "none ever".into());
            let err = p
                .observer
                .as_ref()
                .and_then(|o| o.last_error_message.as_deref())
                .map(|e| format!("; the observer's last error: {}", one_line(e)))
                .unwrap_or_default();
            out.push(Finding {
                signal: Signal::Stalled,
                source: Source::Database,
                subject: None,
                reason: format!(
                    "{} prompt(s) since {} but no observation stored for {} ({last_obs}){err}",
                    a.prompts_since_observation,
                    when(first),
                    ago(now_ms, first)
                ),
                fix: "restart the worker (`claude-mem-top restart`) and watch \
                      `claude-mem-top logs -f --level warn` for the observer's errors"
                    .into(),
            });
        }
    }
    if let Some(r) = p
        .restarts
        .filter(|r| r.starts_last_hour > FLAP_LIMIT || r.version_mismatches_last_hour > FLAP_LIMIT)
    {
        out.push(Finding {
            signal: Signal::Flapping,
            source: Source::Log,
            subject: None,
            reason: format!(
                "{} worker starts and {} `{MISMATCH_LINE}` kills in the last hour",
                r.starts_last_hour, r.version_mismatches_last_hour
            ),
            fix: "the hooks kill a worker whose version differs from the installed plugin: run \
                  the installed release's worker only (stop other managers, `claude-mem-top ps`), \
                  or reinstall the plugin"
                .into(),
        });
    }
    if let (Some(run), Some(inst)) = (&p.versions.running, &p.versions.installed) {
        if run.trim_start_matches('v') != inst.trim_start_matches('v') {
            out.push(Finding {
                signal: Signal::VersionMismatch,
                source: Source::Versions,
                subject: None,
                reason: format!("the worker runs {run}, but {inst} is installed"),
                fix: "restart the worker from the installed plugin (the hooks kill a worker of \
                      another version)"
                    .into(),
            });
        }
    }
    let mut badges: Vec<Signal> = out.iter().map(|f| f.signal).filter(|s| s.badge()).collect();
    badges.sort();
    badges.dedup();
    p.badges = badges;
    p.findings = out;
}

/// A state file as JSON text: `Ok(None)` when absent.
fn read_state(dir: &Path, name: &str) -> Result<Option<String>, String> {
    match files::read_capped(&dir.join(name), STATE_FILE_CAP) {
        Ok(None) => Ok(None),
        Ok(Some(f)) => Ok(Some(f.text)),
        Err(p) => Err(format!("{p}: ignored")),
    }
}

/// The hooks' threshold: the environment, else settings.json, else 3.
pub fn hook_threshold(cfg: &Config) -> u64 {
    let env = std::env::var(HOOK_THRESHOLD_KEY).ok();
    let set = || {
        crate::config::settings_value(&cfg.settings_path(), HOOK_THRESHOLD_KEY)
            .ok()
            .flatten()
    };
    parse_threshold(env.or_else(set).as_deref())
}

/// The newest two dated logs (today's and yesterday's, around midnight), oldest first.
fn recent_logs(logs_dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(logs_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, std::path::PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let date = crate::logs::log_date(&name)?.to_string();
            e.file_type().ok()?.is_file().then(|| (date, e.path()))
        })
        .collect();
    found.sort();
    let keep = found.len().saturating_sub(2);
    found.drain(..keep);
    found.into_iter().map(|(_, p)| p).collect()
}

/// Worker starts and mismatch kills in the last hour.
pub fn read_restarts(logs_dir: &Path) -> Option<Restarts> {
    let logs = recent_logs(logs_dir);
    if logs.is_empty() {
        return None;
    }
    let since = crate::platform::local_now().naive_local()
        - chrono::Duration::from_std(FLAP_WINDOW).unwrap_or_default();
    let mut total = Restarts::default();
    for l in logs {
        let Ok((buf, _)) = crate::logs::read_tail(&l, LOG_TAIL_BYTES) else {
            continue;
        };
        let lines = crate::logs::split_lines(&buf);
        let r = count_restarts(lines.iter().map(String::as_str), since);
        total.starts_last_hour += r.starts_last_hour;
        total.version_mismatches_last_hour += r.version_mismatches_last_hour;
    }
    Some(total)
}

/// `/api/chroma/status`: `Ok(None)` when this version has no such endpoint.
fn read_chroma(cfg: &Config, port: u16) -> Result<Option<Chroma>, String> {
    let p = health::get(cfg.host, port, "/api/chroma/status", HTTP_TIMEOUT);
    match p.result {
        Ok(r) if r.status == 404 => Ok(None),
        Ok(r) if r.status == 200 || r.status == 503 => r
            .json()
            .as_ref()
            .and_then(parse_chroma)
            .map(Some)
            .ok_or_else(|| "/api/chroma/status: not the expected JSON".to_string()),
        Ok(r) => Err(format!("/api/chroma/status: HTTP {}", r.status)),
        Err(e) => Err(format!("/api/chroma/status: {e}")),
    }
}

/// What `read` needs from the status read before it.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The port of a worker that answers HTTP (`None`: no HTTP reads).
    pub answering_port: Option<u16>,
    /// `/api/health`'s dependencies, as `api::read` parsed them.
    pub dependencies: Option<&'a Dependencies>,
    pub running_version: Option<&'a str>,
    pub installed_version: Option<&'a str>,
    pub stall_after: Duration,
}

/// Read everything and evaluate it.
pub fn read(cfg: &Config, inp: Inputs<'_>) -> Pipeline {
    let mut p = Pipeline {
        dependencies: inp.dependencies.cloned(),
        stall_after_seconds: inp.stall_after.as_secs(),
        versions: Versions {
            running: inp.running_version.map(str::to_string),
            installed: inp.installed_version.map(str::to_string),
        },
        ..Pipeline::default()
    };
    let dir = &cfg.data_dir;
    if let Some(port) = inp.answering_port {
        match read_chroma(cfg, port) {
            Ok(c) => p.chroma = c,
            Err(e) => p.notes.push(e),
        }
    }
    match read_state(dir, OBSERVER_HEALTH_FILE)
        .and_then(|t| t.map(|t| parse_observer(&t)).transpose())
    {
        Ok(o) => p.observer = o,
        Err(e) => p.notes.push(e),
    }
    let threshold = hook_threshold(cfg);
    match read_state(dir, HOOK_FAILURES_FILE)
        .and_then(|t| t.map(|t| parse_hooks(&t, threshold)).transpose())
    {
        Ok(h) => p.hooks = h,
        Err(e) => p.notes.push(e),
    }
    match super::db::activity(&cfg.path("claude-mem.db")) {
        Ok(a) => p.activity = a,
        Err(e) => p.notes.push(format!("claude-mem.db: {e}")),
    }
    p.restarts = read_restarts(&cfg.logs_dir());
    let now_ms = chrono::Utc::now().timestamp_millis();
    evaluate(&mut p, inp.stall_after, now_ms);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL_13_25_3: &str = r#"{"status":"ok","version":"13.25.3","uptime":8,"pid":9354,
        "initialized":true,"mcpReady":true,"dependencies":{"degraded":true,"statuses":[
        {"dependency":"claude_cli","kind":"setup_required","message":"Claude executable not found",
         "remediation":"Install or update Claude Code CLI, then restart claude-mem.",
         "recordedAtMs":1795600000000}]}}"#;

    #[test]
    fn the_real_degraded_claude_cli_parses() {
        let v: serde_json::Value = serde_json::from_str(REAL_13_25_3).expect("json");
        let d = parse_dependencies(&v).expect("dependencies");
        assert!(d.degraded);
        assert_eq!(d.statuses.len(), 1);
        let s = &d.statuses[0];
        assert_eq!(s.dependency, Dependency::ClaudeCli);
        assert_eq!(s.kind, "setup_required");
        assert_eq!(s.recorded_at_ms, Some(1_795_600_000_000));
        let mut p = Pipeline {
            dependencies: Some(d),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.badges, vec![Signal::Degraded]);
        assert!(p.findings[0].reason.contains("claude_cli setup_required"));
        assert!(p.findings[0]
            .fix
            .starts_with("Install or update Claude Code CLI"));
    }

    #[test]
    fn no_dependencies_or_none_degraded_says_nothing() {
        let v = serde_json::json!({"status":"ok"});
        assert_eq!(parse_dependencies(&v), None);
        let v = serde_json::json!({"dependencies":{"degraded":false,"statuses":[]}});
        let mut p = Pipeline {
            dependencies: parse_dependencies(&v),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert!(p.findings.is_empty() && p.badges.is_empty());
        // Garbage entries are skipped, unknown names kept.
        let v = serde_json::json!({"dependencies":{"statuses":[1, {"x":1}, {"dependency":"bun"}]}});
        let d = parse_dependencies(&v).expect("dependencies");
        assert_eq!(d.statuses.len(), 1);
        assert_eq!(d.statuses[0].dependency, Dependency::Other("bun".into()));
        assert!(d.degraded);
    }

    #[test]
    fn observer_at_three_failures_carries_its_error() {
        let o = parse_observer(
            r#"{"consecutiveFailures":3,"failingSinceAt":1795600000000,"lastErrorAt":1795600060000,
                "lastErrorMessage":"Claude Code process exited with code 1","lastSuccessAt":null}"#,
        )
        .expect("parses");
        assert_eq!(o.consecutive_failures, 3);
        assert_eq!(o.last_success_at_ms, None);
        let mut p = Pipeline {
            observer: Some(Observer {
                consecutive_failures: 2,
                ..o.clone()
            }),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert!(p.findings.is_empty(), "2 failures are below the threshold");
        p.observer = Some(o);
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.findings[0].source, Source::Observer);
        assert!(p.findings[0]
            .reason
            .contains("Claude Code process exited with code 1"));
    }

    #[test]
    fn malformed_state_files_are_notes() {
        assert!(parse_observer("{")
            .unwrap_err()
            .contains(OBSERVER_HEALTH_FILE));
        assert!(parse_hooks("[1]", 3)
            .unwrap_err()
            .contains("not a JSON object"));
        // Wrong types count as nothing rather than failing.
        let h = parse_hooks(r#"{"consecutiveFailures":"x","lastFailureAt":0}"#, 3).expect("ok");
        assert_eq!((h.consecutive_failures, h.last_failure_at_ms), (0, None));
    }

    #[test]
    fn hooks_at_the_threshold_lock_out() {
        assert_eq!(parse_threshold(None), 3);
        assert_eq!(parse_threshold(Some("0")), 3);
        assert_eq!(parse_threshold(Some("x")), 3);
        assert_eq!(parse_threshold(Some(" 5 ")), 5);
        let h = parse_hooks(
            r#"{"consecutiveFailures":3,"lastFailureAt":1795600000000}"#,
            3,
        )
        .expect("ok");
        let mut p = Pipeline {
            hooks: Some(Hooks {
                threshold: 4,
                ..h.clone()
            }),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert!(p.findings.is_empty());
        p.hooks = Some(h);
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.badges, vec![Signal::Degraded]);
        assert!(p.findings[0]
            .reason
            .contains("3 times in a row (threshold 3)"));
    }

    #[test]
    fn stalled_only_after_stall_after_since_the_first_unobserved_prompt() {
        let min = 60_000;
        let now = 1_795_600_000_000;
        let mut p = Pipeline {
            activity: Some(Activity {
                newest_prompt_ms: Some(now - min),
                newest_observation_ms: Some(now - 120 * min),
                prompts_since_observation: 4,
                oldest_unobserved_prompt_ms: Some(now - 29 * min),
            }),
            observer: Some(Observer {
                last_error_message: Some("quota exceeded".into()),
                ..Observer::default()
            }),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, now);
        assert!(p.findings.is_empty(), "29 min < 30 min");
        if let Some(a) = p.activity.as_mut() {
            a.oldest_unobserved_prompt_ms = Some(now - 31 * min);
        }
        evaluate(&mut p, DEFAULT_STALL_AFTER, now);
        assert_eq!(p.badges, vec![Signal::Stalled]);
        assert!(p.findings[0].reason.contains("4 prompt(s)"));
        assert!(p.findings[0].reason.contains("quota exceeded"));
    }

    #[test]
    fn restarts_count_within_the_hour() {
        let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("date");
        let lines = [
            "[2026-11-24 09:59:59.999] [INFO ] [SYSTEM] HTTP server started {port=1}",
            "[2026-11-24 10:00:00.000] [INFO ] [SYSTEM] HTTP server started {port=1}",
            "[2026-11-24 10:10:00.000] [INFO ] [SYSTEM] Worker version mismatch — killing stale worker {pluginVersion=13.25.3}",
            "HTTP server started (a continuation line)",
            "[SessionStore] Migration004 applied successfully",
            "[garbage",
        ];
        let r = count_restarts(lines, since);
        assert_eq!(
            r,
            Restarts {
                starts_last_hour: 1,
                version_mismatches_last_hour: 1
            }
        );
        let mut p = Pipeline {
            restarts: Some(Restarts {
                starts_last_hour: 5,
                version_mismatches_last_hour: 5,
            }),
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert!(p.findings.is_empty(), "5 an hour is the limit, not past it");
        p.restarts = Some(Restarts {
            starts_last_hour: 6,
            version_mismatches_last_hour: 6,
        });
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.badges, vec![Signal::Flapping]);
    }

    #[test]
    fn chroma_and_versions() {
        let c = parse_chroma(&serde_json::json!({"status":"unhealthy","connected":false,
            "details":"chroma-mcp health check failed"}))
        .expect("chroma");
        let mut p = Pipeline {
            chroma: Some(c),
            versions: Versions {
                running: Some("13.25.3".into()),
                installed: Some("v13.25.3".into()),
            },
            ..Pipeline::default()
        };
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.findings.len(), 1);
        assert!(p.findings[0]
            .reason
            .contains("chroma-mcp health check failed"));
        p.chroma = parse_chroma(&serde_json::json!({"status":"disabled"}));
        p.versions.installed = Some("13.26.0".into());
        evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
        assert_eq!(p.findings.len(), 1);
        assert_eq!(p.findings[0].signal, Signal::VersionMismatch);
        assert!(
            p.badges.is_empty(),
            "a version mismatch is a warning, no badge"
        );
    }

    #[test]
    fn random_text_never_panics() {
        for raw in [
            "",
            "null",
            "{\"consecutiveFailures\":1e400}",
            "\u{0}",
            "{\"failingSinceAt\":\"not a date\"}",
        ] {
            let _ = parse_observer(raw);
            let _ = parse_hooks(raw, 3);
        }
        assert!(line_time("[2026-11-24 10:53:24.194] x").is_some());
        assert_eq!(line_time("[2026-11-24 10:53"), None);
        assert_eq!(line_time("[2026-11-24 10:5é:24.194]"), None);
    }
}
