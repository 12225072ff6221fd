//! The worker's history from its own files: every run (PID, version, start, end, uptime) and how
//! it ended, read from the dated logs of both layouts (7.1.0's `worker-*.log`, 13.x's
//! `claude-mem-*.log`), `.worker-clean-shutdown` and the live worker. It needs neither
//! claude-mem-top nor the worker running, and changes nothing.
//!
//! The logs are read backwards a block at a time (`logs::backward`): one block's memory whatever
//! their size, newest first, stopping at `--since`, at a number of runs or at a byte budget. Only
//! the lines that tell the story are decoded (`scan`); `fold` turns them into runs; the last lines
//! before an unclean end are read afterwards, a few kilobytes each.
//!
//! How a run ends: **clean** (`Worker shutdown complete`, or `.worker-clean-shutdown` written
//! after its start), **replaced** (a hook logged `Worker version mismatch` and killed it),
//! **unclean** (the next start came without a shutdown line, or its process is gone without one:
//! killed, crashed, machine off), or **running** (it is the live worker now).

mod fold;
mod scan;
#[cfg(test)]
mod tests;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::{Serialize, Serializer};

use crate::logs::backward;
use crate::procman::files;
use crate::procman::pipeline::{FLAP_LIMIT, FLAP_WINDOW};
pub use scan::{Event, Kind, Pos, LAUNCH_LINE, SHUTDOWN_LINE};

/// `.worker-clean-shutdown` in the data dir (13.x writes the time of each clean exit).
pub const CLEAN_SHUTDOWN_FILE: &str = ".worker-clean-shutdown";
/// Lines kept from before an unclean end.
pub const LAST_LINES: usize = 5;
/// How far back from an unclean end its last lines are looked for.
const TAIL_BUDGET: u64 = 256 * 1024;
/// A kept line is cut here.
const LINE_CAP: usize = 400;
/// How many runs a read keeps at most (the newest).
pub const MAX_RUNS: usize = 10_000;
/// A live worker is a logged run when both started within this of each other (the log's
/// stamp has milliseconds, the process's start time whole seconds, and the worker logs its
/// start after loading its bundle).
const SAME_START: Duration = Duration::from_secs(30);

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// The worker logged its shutdown (or wrote `.worker-clean-shutdown`).
    Clean,
    /// No shutdown: the next start came without one, or the process is gone without one.
    Unclean,
    /// A hook killed it for reporting another version than the plugin's.
    Replaced,
    /// It is the live worker.
    Running,
}

impl End {
    pub fn label(self) -> &'static str {
        match self {
            End::Clean => "clean",
            End::Unclean => "unclean",
            End::Replaced => "replaced",
            End::Running => "running",
        }
    }

    /// Every end, in the order the metrics list them.
    pub const ALL: [End; 4] = [End::Clean, End::Unclean, End::Replaced, End::Running];
}

/// Why a run ended, where a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// `Received SIGTERM, shutting down...`
    Signal(String),
    /// A hook's version-mismatch kill.
    VersionMismatch {
        worker: Option<String>,
        plugin: Option<String>,
    },
    /// `supervise`'s reason for restarting or stopping it.
    Supervisor(String),
    /// No shutdown line, but `.worker-clean-shutdown` was written after its start.
    CleanShutdownFile,
}

impl Cause {
    /// A stronger cause replaces a weaker one: the mismatch, then the supervisor's reason,
    /// then the signal that carried either.
    fn rank(&self) -> u8 {
        match self {
            Cause::CleanShutdownFile => 0,
            Cause::Signal(_) => 1,
            Cause::Supervisor(_) => 2,
            Cause::VersionMismatch { .. } => 3,
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = |s: &Option<String>| s.clone().unwrap_or_else(|| "?".into());
        match self {
            Cause::Signal(s) => write!(f, "{s}"),
            Cause::VersionMismatch { worker, plugin } => write!(
                f,
                "version mismatch: the worker ran {}, the plugin is {}",
                v(worker),
                v(plugin)
            ),
            Cause::Supervisor(r) => write!(f, "supervise: {r}"),
            Cause::CleanShutdownFile => write!(f, "{CLEAN_SHUTDOWN_FILE} written"),
        }
    }
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One run of the worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub pid: i32,
    pub version: Option<String>,
    /// The log's stamp of its start (local time, as the log writes it).
    #[serde(rename = "started_at", serialize_with = "ser_time")]
    pub started: NaiveDateTime,
    /// Its shutdown line, its mismatch kill, or (unclean) its last line in the log.
    #[serde(rename = "ended_at", serialize_with = "ser_opt_time")]
    pub ended: Option<NaiveDateTime>,
    pub uptime_seconds: Option<u64>,
    pub end: End,
    pub cause: Option<Cause>,
    /// The last lines before an unclean end.
    pub last_lines: Vec<String>,
    /// The log its start is in (none for a live worker whose start no log read holds).
    #[serde(serialize_with = "files::ser_opt_path")]
    pub log: Option<PathBuf>,
    #[serde(skip)]
    start_pos: Pos,
    /// Unclean: where the next run began (its last lines are before).
    #[serde(skip)]
    end_pos: Option<Pos>,
}

impl Run {
    fn begun(pid: i32, t: NaiveDateTime, pos: Pos, version: Option<String>) -> Run {
        Run {
            pid,
            version,
            started: t,
            ended: None,
            uptime_seconds: None,
            end: End::Running,
            cause: None,
            last_lines: Vec::new(),
            log: None,
            start_pos: pos,
            end_pos: None,
        }
    }

    fn set_cause(&mut self, c: Cause) {
        if self.cause.as_ref().is_none_or(|old| c.rank() >= old.rank()) {
            self.cause = Some(c);
        }
    }

    /// `unclean end 2026-12-07 03:12, up 3d 4h` (`status`'s previous run, the dashboard's).
    pub fn brief(&self) -> String {
        let mut s = match (self.end, self.ended) {
            (End::Running, _) => format!("running since {}", minute(self.started)),
            (e, Some(t)) => format!("{} end {}", e.label(), minute(t)),
            (e, None) => format!("{} end (started {})", e.label(), minute(self.started)),
        };
        if let Some(u) = self.uptime_seconds {
            s.push_str(&format!(", up {}", crate::procman::status::fmt_uptime(u)));
        }
        if let Some(c) = &self.cause {
            s.push_str(&format!(" ({c})"));
        }
        s
    }
}

/// `2026-12-07 03:12`.
pub fn minute(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// A local log stamp as ISO 8601 with today's UTC offset (the log keeps none).
pub fn local_iso(t: NaiveDateTime) -> String {
    let off = *crate::platform::local_now().offset();
    t.and_local_timezone(off)
        .single()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

fn ser_time<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&local_iso(*t))
}

fn ser_opt_time<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&local_iso(*t)),
        None => s.serialize_none(),
    }
}

/// A restart loop: more than [`FLAP_LIMIT`] starts within [`FLAP_WINDOW`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flap {
    #[serde(serialize_with = "ser_time")]
    pub from: NaiveDateTime,
    #[serde(serialize_with = "ser_time")]
    pub to: NaiveDateTime,
    pub starts: usize,
    /// The cause most of its runs ended with, where the log names one.
    pub cause: Option<String>,
}

/// Runs a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: String,
    pub runs: usize,
    pub unclean: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Longest {
    pub pid: i32,
    pub uptime_seconds: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub runs: usize,
    pub clean: usize,
    pub unclean: usize,
    pub replaced: usize,
    pub running: usize,
    /// Starts after the first, per day of the range (first start's day to the last's).
    pub restarts_per_day: f64,
    pub days: Vec<Day>,
    pub longest: Option<Longest>,
}

/// What the files say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    /// Oldest first.
    pub runs: Vec<Run>,
    pub summary: Summary,
    pub flapping: Vec<Flap>,
    /// The logs read, oldest first.
    #[serde(serialize_with = "ser_paths")]
    pub logs: Vec<PathBuf>,
    /// What limited the read (older runs not read), one line each.
    pub notes: Vec<String>,
}

fn ser_paths<S: Serializer>(p: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(|p| p.to_string_lossy()))
}

impl History {
    /// The newest run that has ended.
    pub fn previous(&self) -> Option<&Run> {
        self.runs.iter().rev().find(|r| r.end != End::Running)
    }

    /// Make the live worker's run (the newest of its PID that started when it did) running, and
    /// sum up again. Without a live worker, nothing is running.
    pub fn apply_live(&mut self, live: Option<&Live>) {
        let now = crate::platform::local_now().naive_local();
        let near = chrono::Duration::from_std(SAME_START).unwrap_or_default();
        let at = live.and_then(|l| {
            self.runs.iter().rposition(|r| {
                r.pid == l.pid && l.started.is_none_or(|s| (r.started - s).abs() <= near)
            })
        });
        if let (Some(i), Some(l)) = (at, live) {
            let r = &mut self.runs[i];
            r.end = End::Running;
            r.ended = None;
            r.end_pos = None;
            r.cause = None;
            r.last_lines.clear();
            if r.version.is_none() {
                r.version = l.version.clone();
            }
            r.uptime_seconds = u64::try_from((now - r.started).num_seconds()).ok();
        } else if let Some((l, started)) = live.and_then(|l| Some((l, l.started?))) {
            // Its start is not in the logs read (a worker that logs no start line, or logs
            // that were removed): the run is still the newest, from the process's start time.
            if self.runs.last().is_none_or(|r| r.started < started) {
                let mut r = Run::begun(l.pid, started, Pos { file: 0, at: 0 }, l.version.clone());
                r.uptime_seconds = u64::try_from((now - started).num_seconds()).ok();
                self.runs.push(r);
            }
        }
        self.summary = summarize(&self.runs);
        self.flapping = flaps(&self.runs);
    }

    /// Runs by how they ended, in [`End::ALL`]'s order.
    pub fn counts(&self) -> [(End, usize); 4] {
        End::ALL.map(|e| (e, self.runs.iter().filter(|r| r.end == e).count()))
    }
}

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no worker log in {0} (no worker-*.log or claude-mem-*.log): no runs to list")]
    NoLogs(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl HistoryError {
    /// docs/usage.md: 1 nothing to read or a log that cannot be read.
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// `--since`: a time ago or a point in time (local, as the log's stamps are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    At(NaiveDateTime),
}

impl Since {
    /// `2d`, `12h`, `30m`, `1w`, `2026-12-01`, `2026-12-01 08:00`, `2026-12-01T08:00:00`.
    pub fn parse(s: &str) -> Result<Since, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "`{s}` is neither a duration (2d, 12h, 30m, 1w) nor a date (2026-12-01, \
                 2026-12-01 08:00)"
            )
        };
        for (suffix, secs) in [("w", 7 * 86_400u64), ("d", 86_400)] {
            if let Some(n) = s.strip_suffix(suffix) {
                let n: f64 = n.parse().map_err(|_| bad())?;
                if !(0.0..=36_500.0).contains(&n) {
                    return Err(bad());
                }
                return Ok(Since::Ago(Duration::from_secs_f64(n * secs as f64)));
            }
        }
        if let Some(d) = crate::config::parse_duration(s) {
            return Ok(Since::Ago(d));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return d.and_hms_opt(0, 0, 0).map(Since::At).ok_or_else(bad);
        }
        for f in [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                return Ok(Since::At(t));
            }
        }
        Err(bad())
    }

    /// The local time it names, from `now`.
    pub fn resolve(self, now: NaiveDateTime) -> NaiveDateTime {
        match self {
            Since::At(t) => t,
            Since::Ago(d) => now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
        }
    }
}

/// How much a read covers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Runs that started before this are not read.
    pub since: Option<NaiveDateTime>,
    /// The newest this many runs.
    pub max_runs: usize,
    /// Read at most this many bytes of logs (the status line's budget).
    pub max_bytes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            since: None,
            max_runs: MAX_RUNS,
            max_bytes: None,
        }
    }
}

impl Limits {
    /// `status`'s and the dashboard's: the newest runs within the last 4 MB of logs.
    pub fn recent() -> Limits {
        Limits {
            since: None,
            max_runs: 3,
            max_bytes: Some(4 * 1024 * 1024),
        }
    }
}

/// The worker that runs now, as the status read proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub pid: i32,
    pub version: Option<String>,
    /// When the process started (local time).
    pub started: Option<NaiveDateTime>,
}

impl Live {
    /// The worker a status read found running (proven, unhealthy, or answering unmanaged).
    pub fn of(st: &crate::procman::status::Status) -> Option<Live> {
        use crate::procman::status::State;
        if !matches!(
            st.state(),
            State::Running | State::Unhealthy | State::Unmanaged
        ) {
            return None;
        }
        let started = st
            .proven()
            .and_then(|p| p.started())
            .map(|t| crate::platform::to_local(t.into()).naive_local());
        Some(Live {
            pid: st.pid()?,
            version: st.api.as_ref().and_then(|a| a.version.clone()),
            started,
        })
    }
}

/// The dated logs in `logs_dir`, oldest first (by the date in the name, then the name).
pub fn dated_logs(logs_dir: &Path) -> Result<Vec<(String, PathBuf)>, HistoryError> {
    let rd = match std::fs::read_dir(logs_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(HistoryError::Read {
                path: logs_dir.to_path_buf(),
                source,
            })
        }
    };
    let mut found: Vec<(String, String, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let date = crate::logs::log_date(&name)?.to_string();
            e.file_type()
                .ok()?
                .is_file()
                .then(|| (date, name, e.path()))
        })
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(d, _, p)| (d, p)).collect())
}

/// Read the history of the data dir `data_dir`.
pub fn read(data_dir: &Path, limits: Limits, live: Option<&Live>) -> Result<History, HistoryError> {
    let logs_dir = data_dir.join("logs");
    let mut logs = dated_logs(&logs_dir)?;
    if logs.is_empty() {
        return Err(HistoryError::NoLogs(logs_dir));
    }
    if let Some(since) = limits.since {
        // The name's date is UTC, the stamps local: a day's slack either way.
        let from = (since.date() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        logs.retain(|(d, _)| *d >= from);
    }
    let logs: Vec<PathBuf> = logs.into_iter().map(|(_, p)| p).collect();
    let mut h = History::default();
    let (mut events, stopped) = collect(&logs, limits)?;
    events.sort_by_key(|e| (e.t, e.pos));
    if let Some(since) = limits.since {
        events.retain(|e| e.t >= since);
    }
    let mut runs = fold::fold(&events);
    if runs.len() > limits.max_runs {
        runs.drain(..runs.len() - limits.max_runs);
    }
    if let Some(why) = stopped {
        h.notes.push(why);
    }
    let clean_file = read_clean_shutdown(data_dir);
    finish(&mut runs, &logs, clean_file);
    for r in &mut runs {
        r.log = logs.get(r.start_pos.file).cloned();
    }
    h.runs = runs;
    h.logs = logs;
    h.apply_live(live);
    Ok(h)
}

/// The events of the logs, newest file first and each from its end, until the limits; and
/// what stopped the read early, if anything did.
fn collect(logs: &[PathBuf], limits: Limits) -> Result<(Vec<Event>, Option<String>), HistoryError> {
    let mut events: Vec<Event> = Vec::new();
    let mut pids: Vec<i32> = Vec::new();
    let mut bytes = 0u64;
    let mut stopped = None;
    for (i, path) in logs.iter().enumerate().rev() {
        let mut past_since = false;
        let r = backward::blocks(path, 0, backward::BLOCK, |block, base| {
            let before = events.len();
            scan::scan(block, i, base, &mut events);
            for e in &events[before..] {
                if let Kind::Start { pid } = e.kind {
                    if pids.last() != Some(&pid) {
                        pids.push(pid);
                    }
                }
            }
            bytes += block.len() as u64;
            if let Some(since) = limits.since {
                if crate::procman::pipeline::first_time(block, 1000).is_some_and(|t| t < since) {
                    past_since = true;
                    return ControlFlow::Break(());
                }
            }
            // One start more than asked: the oldest run kept then has its launcher line too.
            if pids.len() > limits.max_runs + 1 {
                stopped = Some(format!(
                    "only the newest {} runs were read",
                    limits.max_runs
                ));
                return ControlFlow::Break(());
            }
            if limits.max_bytes.is_some_and(|m| bytes >= m) {
                stopped = Some(format!(
                    "only the newest {} of logs were read",
                    crate::config::fmt_bytes(bytes)
                ));
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        match r {
            Ok(()) => {}
            // Removed while we read (a cleanup): nothing in it to tell.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(HistoryError::Read {
                    path: path.clone(),
                    source,
                })
            }
        }
        if past_since || stopped.is_some() {
            break;
        }
    }
    Ok((events, stopped))
}

/// `.worker-clean-shutdown`'s time, local.
fn read_clean_shutdown(data_dir: &Path) -> Option<NaiveDateTime> {
    let f = files::read_capped(&data_dir.join(CLEAN_SHUTDOWN_FILE), 256)
        .ok()
        .flatten()?;
    let t = chrono::DateTime::parse_from_rfc3339(f.text.trim()).ok()?;
    Some(crate::platform::to_local(t.with_timezone(&chrono::Utc)).naive_local())
}

/// Decide the runs no line ended (the clean-shutdown file, else unclean: [`History::apply_live`]
/// then makes the live worker's run running), and read the last lines and the uptime of each.
fn finish(runs: &mut [Run], logs: &[PathBuf], clean_file: Option<NaiveDateTime>) {
    let newest_end = logs.len().checked_sub(1).map(|i| Pos {
        file: i,
        at: std::fs::metadata(&logs[i]).map_or(0, |m| m.len()),
    });
    let n = runs.len();
    for (i, r) in runs.iter_mut().enumerate() {
        if r.end == End::Running {
            // Not live. The newest run may have written the clean-shutdown file.
            let marked = i + 1 == n && clean_file.is_some_and(|t| t >= r.started);
            if marked {
                r.end = End::Clean;
                r.ended = clean_file;
                r.set_cause(Cause::CleanShutdownFile);
            } else {
                r.end = End::Unclean;
                r.end_pos = newest_end;
            }
        }
        if r.end == End::Unclean {
            let (lines, last) = last_lines(logs, r);
            r.last_lines = lines;
            r.ended = last.filter(|t| *t >= r.started).or(r.ended);
        }
        r.uptime_seconds = r
            .ended
            .and_then(|e| u64::try_from((e - r.started).num_seconds()).ok());
    }
}

/// Lines the next run's launcher logs before its start, not the ended run's own.
const LAUNCHER_LINES: [&str; 8] = [
    LAUNCH_LINE,
    // claude-mem's CLI `start` finding the killed worker's PID (still a zombie) and giving up.
    "Worker PID file points to a live process",
    "Live PID disappeared before readiness",
    " at boot {",
    "Removing stale PID file",
    "Removed dead processes",
    "] [SUPERVISOR] ",
    crate::procman::pipeline::MISMATCH_LINE,
];

/// The last lines of an unclean run (before where the next began, or the log's end) and the
/// newest stamp among them.
fn last_lines(logs: &[PathBuf], r: &Run) -> (Vec<String>, Option<NaiveDateTime>) {
    let Some(end) = r.end_pos else {
        return (Vec::new(), None);
    };
    // Where to look: before `end` in its file, then (when the next run began in a later log)
    // the end of the run's own log.
    let mut spans = vec![(end.file, end.at)];
    if end.file != r.start_pos.file {
        if let Some(p) = logs.get(r.start_pos.file) {
            spans.push((
                r.start_pos.file,
                std::fs::metadata(p).map_or(0, |m| m.len()),
            ));
        }
    }
    let mut kept: Vec<String> = Vec::new();
    let mut newest: Option<NaiveDateTime> = None;
    for (file, until) in spans {
        let Some(path) = logs.get(file) else { continue };
        let floor = if file == r.start_pos.file {
            r.start_pos.at
        } else {
            0
        };
        let floor = floor.max(until.saturating_sub(TAIL_BUDGET));
        let _ = backward::blocks_before(path, floor, until, 16 * 1024, |block, _| {
            for raw in block.split(|&b| b == b'\n').rev() {
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                if raw.is_empty() {
                    continue;
                }
                let line = String::from_utf8_lossy(&raw[..raw.len().min(4 * LINE_CAP)]);
                if LAUNCHER_LINES.iter().any(|l| line.contains(l)) {
                    continue;
                }
                let t = crate::procman::pipeline::line_time(&line);
                if newest.is_none() {
                    newest = t;
                }
                if kept.len() < LAST_LINES {
                    kept.push(line.chars().take(LINE_CAP).collect());
                }
                if kept.len() >= LAST_LINES && newest.is_some() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        if kept.len() >= LAST_LINES && newest.is_some() {
            break;
        }
    }
    kept.reverse();
    (kept, newest)
}

fn summarize(runs: &[Run]) -> Summary {
    let mut s = Summary {
        runs: runs.len(),
        ..Summary::default()
    };
    for r in runs {
        match r.end {
            End::Clean => s.clean += 1,
            End::Unclean => s.unclean += 1,
            End::Replaced => s.replaced += 1,
            End::Running => s.running += 1,
        }
        let date = r.started.format("%Y-%m-%d").to_string();
        match s.days.last_mut() {
            Some(d) if d.date == date => {
                d.runs += 1;
                d.unclean += usize::from(r.end == End::Unclean);
            }
            _ => s.days.push(Day {
                date,
                runs: 1,
                unclean: usize::from(r.end == End::Unclean),
            }),
        }
        if let Some(u) = r.uptime_seconds {
            if s.longest.as_ref().is_none_or(|l| u > l.uptime_seconds) {
                s.longest = Some(Longest {
                    pid: r.pid,
                    uptime_seconds: u,
                });
            }
        }
    }
    if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
        let days = (last.started.date() - first.started.date()).num_days() + 1;
        let restarts = runs.len().saturating_sub(1) as f64;
        s.restarts_per_day = (restarts / days.max(1) as f64 * 10.0).round() / 10.0;
    }
    s
}

/// Restart loops: stretches where more than [`FLAP_LIMIT`] runs started within [`FLAP_WINDOW`].
fn flaps(runs: &[Run]) -> Vec<Flap> {
    let window = chrono::Duration::from_std(FLAP_WINDOW).unwrap_or_default();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut j = 0;
    for i in 0..runs.len() {
        while runs[i].started - runs[j].started > window {
            j += 1;
        }
        if (i - j + 1) as u64 > FLAP_LIMIT {
            match spans.last_mut() {
                Some(s) if s.1 + 1 >= j => s.1 = i,
                _ => spans.push((j, i)),
            }
        }
    }
    spans
        .into_iter()
        .map(|(a, b)| {
            let part = &runs[a..=b];
            // The cause most runs of the loop ended with.
            let mut causes: Vec<(String, usize)> = Vec::new();
            for c in part.iter().filter_map(|r| r.cause.as_ref()) {
                let c = match c {
                    Cause::Signal(_) | Cause::CleanShutdownFile => continue,
                    c => c.to_string(),
                };
                match causes.iter_mut().find(|(k, _)| *k == c) {
                    Some((_, n)) => *n += 1,
                    None => causes.push((c, 1)),
                }
            }
            causes.sort_by_key(|x| std::cmp::Reverse(x.1));
            Flap {
                from: part[0].started,
                to: part[part.len() - 1].started,
                starts: part.len(),
                cause: causes.into_iter().next().map(|(c, _)| c),
            }
        })
        .collect()
}

/// A short cut of `s` (a reason from a log line).
fn cap(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
