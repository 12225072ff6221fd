//! All the state the screen shows: plain data, no I/O.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::SystemTime;

use super::keymap::Keymap;
use super::msg::{Action, ApiInfo, DbState, FileInfo, ProcJob, Sample};
use crate::logs::Level;
use crate::procman::census::{Census, Member};
use crate::procman::status::{State, Status};

pub const LOG_CAP: usize = 20_000;
pub const HISTORY: usize = 180;
pub const EVENTS_CAP: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Logs,
    Activity,
    Events,
    Processes,
    Health,
    Resources,
    Files,
    Database,
}

impl Focus {
    pub const ORDER: [Focus; 8] = [
        Focus::Logs,
        Focus::Activity,
        Focus::Events,
        Focus::Processes,
        Focus::Health,
        Focus::Resources,
        Focus::Files,
        Focus::Database,
    ];
}

/// What keys mean right now: one mode at a time, resolved in one place (`update::key`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// A worker action waiting for y/n.
    Confirm(Action),
    /// A process job waiting for y/n.
    ConfirmProc(ProcJob),
    /// The search line is open: printable keys go to the query.
    Search,
    /// The help popup, scrolled down by this many rows.
    Help(u16),
    /// The Health detail: what `status` prints for the current status (each finding with its
    /// fix, the checks, the warnings), read-only, scrolled down by this many rows.
    HealthDetail(u16),
    /// The worker's runs (`H`): `sel` the selected run (0: the newest); `open` shows its last
    /// log lines, scrolled down by `top` rows.
    History { sel: usize, open: bool, top: u16 },
    /// The memory search line (`/` with Activity focused): printable keys go to the query.
    FindMemory,
    /// The queue popup (`Q`), scrolled down by this many rows.
    Queue(u16),
    /// The settings popup (`C`), scrolled down by this many rows.
    Settings(u16),
    /// One Activity item's full text, read-only, scrolled down by `top` rows.
    Detail {
        item: Box<crate::procman::activity::Item>,
        top: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub text: String,
    /// `text` lowercased once, for the search.
    pub lower: String,
    pub level: Option<Level>,
    pub entry: u64,
}

/// The log the Logs panel shows, with its filtered view kept up to date line by line: a frame
/// or a new line costs the same with 20,000 lines held as with 200.
#[derive(Debug, Clone)]
pub struct LogView {
    pub path: Option<PathBuf>,
    lines: VecDeque<LogLine>,
    /// The sequence number of `lines[0]` (every line gets the next one as it arrives).
    first_seq: u64,
    /// The sequence numbers of the lines that pass the level filter, oldest first.
    index: VecDeque<u64>,
    pub next_entry: u64,
    pub follow: bool,
    /// Visible (filtered) lines hidden below the view when not following.
    pub scroll: usize,
    min_level: Option<Level>,
    pub wrap: bool,
    pub query: String,
    /// Show each line's leading `[YYYY-MM-DD hh:mm:ss.mmm]` stamp (`t` hides it).
    pub timestamps: bool,
    /// Columns scrolled to the right (wrap off).
    pub hscroll: usize,
    /// Total lines received (for the title).
    pub received: u64,
    /// The entries matching `query`, brought up to date when read (drawing reads it through
    /// `&self`; `query` is a plain field the search line edits).
    matches: RefCell<Matches>,
}

/// Entries that match a query: for each, the newest matching line's sequence number.
#[derive(Debug, Clone, Default)]
struct Matches {
    query: String,
    min_level: Option<Level>,
    /// Lines before this sequence number have been looked at.
    scanned: u64,
    /// (sequence number of the entry's newest matching line, entry), oldest first.
    entries: VecDeque<(u64, u64)>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            path: None,
            lines: VecDeque::new(),
            first_seq: 0,
            index: VecDeque::new(),
            next_entry: 0,
            follow: true,
            scroll: 0,
            min_level: None,
            wrap: false,
            query: String::new(),
            timestamps: true,
            hscroll: 0,
            received: 0,
            matches: RefCell::default(),
        }
    }
}

impl LogView {
    pub fn push(&mut self, raw: &str) {
        let text = crate::logs::sanitize(raw);
        let (level, entry) = if crate::logs::starts_entry(raw) || self.lines.is_empty() {
            self.next_entry += 1;
            (crate::logs::line_level(raw), self.next_entry)
        } else {
            let last = self
                .lines
                .back()
                .map(|l| (l.level, l.entry))
                .unwrap_or((None, 0));
            (last.0, last.1)
        };
        let seq = self.first_seq + self.lines.len() as u64;
        let line = LogLine {
            lower: text.to_lowercase(),
            text,
            level,
            entry,
        };
        if Level::passes(self.min_level, line.level) {
            self.index.push_back(seq);
        }
        self.lines.push_back(line);
        self.received += 1;
        if self.lines.len() > LOG_CAP {
            self.lines.pop_front();
            if self.index.front() == Some(&self.first_seq) {
                self.index.pop_front();
            }
            self.first_seq += 1;
        }
    }

    pub fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
        self.index.clear();
        self.scroll = 0;
    }

    /// Every line held, oldest first (the level filter aside).
    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines
    }

    pub fn min_level(&self) -> Option<Level> {
        self.min_level
    }

    /// Show only lines at `level` or above (`None`: all); the one full pass over the lines.
    pub fn set_min_level(&mut self, level: Option<Level>) {
        self.min_level = level;
        self.index = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| Level::passes(level, l.level))
            .map(|(i, _)| self.first_seq + i as u64)
            .collect();
    }

    fn at_seq(&self, seq: u64) -> Option<&LogLine> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.lines.get(i)
    }

    /// How many lines pass the level filter.
    pub fn filtered_len(&self) -> usize {
        self.index.len()
    }

    /// The `i`th line that passes the filter, oldest first.
    pub fn filtered_at(&self, i: usize) -> Option<&LogLine> {
        self.index.get(i).and_then(|&s| self.at_seq(s))
    }

    /// The lines that pass the filter, oldest first.
    pub fn filtered(&self) -> impl DoubleEndedIterator<Item = &LogLine> + '_ {
        self.index.iter().filter_map(|&s| self.at_seq(s))
    }

    /// The selected line (the cursor): the bottom line of the view, as an index into the
    /// filtered lines.
    pub fn cursor(&self, total: usize) -> Option<usize> {
        total.checked_sub(1 + self.scroll)
    }

    /// A line as shown: without its leading timestamp when timestamps are hidden.
    pub fn shown<'a>(&self, text: &'a str) -> &'a str {
        if self.timestamps {
            text
        } else {
            strip_timestamp(text)
        }
    }

    /// Bring the match list up to date: a full pass only when the query or the level changed,
    /// else the lines that arrived since the last look.
    fn with_matches<T>(&self, f: impl FnOnce(&VecDeque<(u64, u64)>) -> T) -> T {
        let mut m = self.matches.borrow_mut();
        let q = self.query.to_lowercase();
        if m.query != q || m.min_level != self.min_level {
            *m = Matches {
                query: q,
                min_level: self.min_level,
                scanned: self.first_seq,
                entries: VecDeque::new(),
            };
        }
        // Lines dropped off the front (or cleared) take their matches with them.
        while m
            .entries
            .front()
            .is_some_and(|(seq, _)| *seq < self.first_seq)
        {
            m.entries.pop_front();
        }
        let end = self.first_seq + self.lines.len() as u64;
        if !m.query.is_empty() {
            for seq in m.scanned.max(self.first_seq)..end {
                let Some(l) = self.at_seq(seq) else { break };
                if !Level::passes(self.min_level, l.level) || !l.lower.contains(&m.query) {
                    continue;
                }
                match m.entries.back_mut() {
                    Some(last) if last.1 == l.entry => last.0 = seq,
                    _ => m.entries.push_back((seq, l.entry)),
                }
            }
        }
        m.scanned = end;
        f(&m.entries)
    }

    /// Entries (ids) that contain the query, in order.
    pub fn matching_entries(&self) -> Vec<u64> {
        self.with_matches(|m| m.iter().map(|(_, e)| *e).collect())
    }

    /// How many entries contain the query.
    pub fn match_count(&self) -> usize {
        self.with_matches(|m| m.len())
    }
}

/// `[2026-11-25 09:59:50.101] [INFO ] …` → `[INFO ] …`; other lines unchanged.
pub fn strip_timestamp(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('[') else {
        return text;
    };
    let Some((stamp, after)) = rest.split_once(']') else {
        return text;
    };
    let b = stamp.as_bytes();
    let looks = b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b' '
        && b[13] == b':';
    if looks {
        after.strip_prefix(' ').unwrap_or(after)
    } else {
        text
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    /// The worker's live feed (`/stream`); not drawn yet (the Activity panel will).
    pub stream: StreamState,
    pub now: SystemTime,
    pub size: (u16, u16),
    pub data_dir: PathBuf,
    pub demo: bool,
    pub color: bool,
    pub status: Option<Status>,
    pub api: Option<ApiInfo>,
    pub installed_version: Option<String>,
    /// Recent /health latencies in microseconds (0 = failed).
    pub latencies: VecDeque<u64>,
    pub consecutive_failures: u32,
    /// The state the Events panel last announced (a starting worker's first refused probes are
    /// not announced as "unhealthy").
    pub announced: Option<State>,
    pub metrics: Option<Sample>,
    pub cpu_hist: VecDeque<u64>,
    pub rss_hist: VecDeque<u64>,
    pub files: Vec<FileInfo>,
    pub file_changed: HashMap<String, SystemTime>,
    pub db: DbState,
    pub log: LogView,
    pub events: VecDeque<(SystemTime, String)>,
    pub events_scroll: usize,
    pub action: Option<(Action, SystemTime)>,
    /// The worker a restart began with (it is stopped first).
    pub action_from: Option<i32>,
    pub spinner: usize,
    /// The last action's result: when, text, ok.
    pub result: Option<(SystemTime, String, bool)>,
    /// Normal, a question, the search line, or help: exactly one at a time.
    pub mode: Mode,
    /// The key table in effect (defaults plus `config.toml`).
    pub keys: Keymap,
    /// The sampling interval (the charts' time span is samples × interval).
    pub interval: std::time::Duration,
    /// Mouse reporting is on (wheel scrolls, click focuses).
    pub mouse: bool,
    /// The semantic colours (`[colors]`).
    pub palette: crate::ui::theme::Palette,
    pub focus: Focus,
    pub quit: Option<u8>,
    pub watched_pid: Option<i32>,
    /// A running `claude-mem-top supervise` for this data dir.
    pub supervisor: Option<crate::supervise::SuperviseState>,
    pub auto: AutoRestart,
    /// The last census (every claude-mem process of this data dir).
    pub census: Option<Census>,
    /// The selected row of the Processes panel.
    pub procs_sel: usize,
    /// A process job running.
    pub proc_busy: bool,
    /// What the worker just stored, newest first (at most [`ACTIVITY_CAP`]).
    pub activity: Vec<crate::procman::activity::Item>,
    /// The selected row of the Activity panel (0: the newest).
    pub activity_sel: usize,
    /// The worker's runs from its logs (`H`).
    pub history: super::history::HistoryState,
    /// The log panel on disk: another day's file or a match found there (`[`, `]`, `n`).
    pub logfile: super::logfile::LogFileState,
    /// The memory search, the queue and the settings (`/` in Activity, `Q`, `C`).
    pub memory: super::memory::MemoryState,
}

/// Activity items kept.
pub const ACTIVITY_CAP: usize = 200;

/// The dashboard's own restart policy (`a`; off by default): restart a worker that died, with
/// backoff 1 s doubling to 60 s, reset after a minute of health. Never while a supervisor runs.
#[derive(Debug, Clone, Default)]
pub struct AutoRestart {
    pub on: bool,
    /// Restarts done since `a` turned it on.
    pub restarts: u32,
    /// The restart policy's count and backoff (the one `supervise` uses).
    pub budget: crate::supervise::Budget<SystemTime>,
    /// The policy gave up (FATAL): why. `a` tries again.
    pub fatal: Option<String>,
    /// A start just succeeded: a worker gone before any status saw it running died too.
    pub expect_alive: bool,
    pub next_at: Option<SystemTime>,
    /// The last worker seen alive: (PID, start token).
    pub last_worker: Option<(i32, crate::platform::StartToken)>,
    /// The last "stopped on purpose" note: (PID, start token).
    pub stop_note: Option<(i32, crate::platform::StartToken)>,
    pub healthy_since: Option<SystemTime>,
}

impl AutoRestart {
    /// The delay before the next restart after `n` restarts: 1 s, doubling to a minute.
    pub fn backoff(n: u32) -> std::time::Duration {
        crate::supervise::backoff(crate::supervise::BACKOFF_START, n.saturating_add(1))
    }

    /// Turned on (again): a fresh budget.
    pub fn turn_on(&mut self) {
        self.on = true;
        self.next_at = None;
        self.restarts = 0;
        self.budget = Default::default();
        self.fatal = None;
    }
}

impl Model {
    /// The header's result line: what an action or a key just did (`ok`: it worked).
    pub fn notice(&mut self, text: impl Into<String>, ok: bool) {
        self.result = Some((self.now, text.into(), ok));
    }

    /// `data_dir` as the OS resolves it (the census's data dirs are resolved too): the caller
    /// resolves it, so `update` needs no I/O.
    pub fn new(data_dir: PathBuf, now: SystemTime) -> Model {
        Model {
            stream: StreamState::default(),
            now,
            size: (80, 24),
            data_dir,
            demo: false,
            color: true,
            status: None,
            api: None,
            installed_version: None,
            latencies: VecDeque::new(),
            consecutive_failures: 0,
            announced: None,
            metrics: None,
            cpu_hist: VecDeque::new(),
            rss_hist: VecDeque::new(),
            files: Vec::new(),
            file_changed: HashMap::new(),
            db: DbState::Loading,
            log: LogView::default(),
            events: VecDeque::new(),
            events_scroll: 0,
            action: None,
            action_from: None,
            spinner: 0,
            result: None,
            mode: Mode::Normal,
            keys: Keymap::default(),
            interval: std::time::Duration::from_secs(1),
            mouse: false,
            palette: crate::ui::theme::Palette::default(),
            focus: Focus::Logs,
            quit: None,
            watched_pid: None,
            supervisor: None,
            auto: AutoRestart::default(),
            census: None,
            procs_sel: 0,
            proc_busy: false,
            activity: Vec::new(),
            activity_sel: 0,
            history: Default::default(),
            logfile: Default::default(),
            memory: Default::default(),
        }
    }

    /// The Processes panel's rows in display order: each worker with its helpers under it,
    /// then helpers of no live worker (orphans).
    pub fn proc_rows(&self) -> Vec<&Member> {
        let Some(c) = &self.census else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for w in c.workers() {
            rows.push(w);
            rows.extend(c.helpers_of(w.pid));
        }
        rows.extend(
            c.members
                .iter()
                .filter(|m| !m.class.is_worker() && m.worker.is_none()),
        );
        rows
    }

    pub fn selected_proc(&self) -> Option<&Member> {
        let rows = self.proc_rows();
        rows.get(self.procs_sel.min(rows.len().saturating_sub(1)))
            .copied()
    }

    pub fn confirm(&self) -> Option<Action> {
        match self.mode {
            Mode::Confirm(a) => Some(a),
            _ => None,
        }
    }

    pub fn confirm_proc(&self) -> Option<&ProcJob> {
        match &self.mode {
            Mode::ConfirmProc(j) => Some(j),
            _ => None,
        }
    }

    pub fn searching(&self) -> bool {
        self.mode == Mode::Search
    }

    pub fn state(&self) -> Option<State> {
        self.status.as_ref().map(|s| s.state())
    }

    /// The header badge: the action in progress wins over the sampled state.
    pub fn badge(&self) -> &'static str {
        match self.action {
            Some((Action::Restart, _)) if self.old_worker_lives() => "STOPPING",
            Some((Action::Start, _)) | Some((Action::Restart, _)) => "STARTING",
            Some((Action::Stop, _)) => "STOPPING",
            None => self.state().map_or("…", |s| s.label()),
        }
    }

    /// The worker a restart began with still runs (as of the last status read).
    fn old_worker_lives(&self) -> bool {
        let Some(st) = &self.status else { return false };
        self.action_from.is_some()
            && matches!(st.state(), State::Running | State::Unhealthy)
            && st.pid() == self.action_from
    }

    pub fn event(&mut self, text: impl Into<String>) {
        self.events.push_back((self.now, text.into()));
        if self.events.len() > EVENTS_CAP {
            self.events.pop_front();
        }
    }
}

/// What the dashboard knows of `/stream`: its one connection and the latest frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    /// Connected to this port.
    pub connected: Option<u16>,
    /// Frames received since the dashboard started.
    pub frames: u64,
    /// The latest frames, oldest first, at most [`StreamState::KEEP`].
    pub recent: VecDeque<crate::procman::stream::Frame>,
    /// Why the last connection ended, and when the next try comes.
    pub last_drop: Option<(crate::procman::stream::Disconnect, std::time::Duration)>,
}

impl StreamState {
    pub const KEEP: usize = 200;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the kept index and match list must equal: the plain computation over every line.
    fn naive(v: &LogView) -> (Vec<String>, Vec<u64>) {
        let shown: Vec<&LogLine> = v
            .lines()
            .iter()
            .filter(|l| Level::passes(v.min_level(), l.level))
            .collect();
        let q = v.query.to_lowercase();
        let mut m: Vec<u64> = Vec::new();
        if !q.is_empty() {
            for l in &shown {
                if l.text.to_lowercase().contains(&q) && m.last() != Some(&l.entry) {
                    m.push(l.entry);
                }
            }
        }
        (shown.iter().map(|l| l.text.clone()).collect(), m)
    }

    fn kept(v: &LogView) -> (Vec<String>, Vec<u64>) {
        (
            v.filtered().map(|l| l.text.clone()).collect(),
            v.matching_entries(),
        )
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8, bool, bool),
        Level(Option<u8>),
        Query(bool),
        Clear,
        Look,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..5, any::<bool>(), any::<bool>()).prop_map(|(l, c, m)| Op::Push(l, c, m)),
            1 => proptest::option::of(0u8..4).prop_map(Op::Level),
            1 => any::<bool>().prop_map(Op::Query),
            1 => Just(Op::Clear),
            2 => Just(Op::Look),
        ]
    }

    fn line(level: u8, continuation: bool, hit: bool, n: usize) -> String {
        let word = if hit { "NeEdLe" } else { "hay" };
        if continuation {
            return format!("    at frame {n} {word}");
        }
        let lv = [Level::Debug, Level::Info, Level::Warn, Level::Error]
            .get(level as usize)
            .map_or_else(|| "OTHER".to_string(), |l| l.padded());
        format!(
            "[2026-11-25 10:00:00.{:03}] [{lv}] [W] line {n} {word}",
            n % 1000
        )
    }

    proptest! {
        #[test]
        fn the_kept_view_equals_the_plain_computation(ops in proptest::collection::vec(op(), 1..120)) {
            let mut v = LogView::default();
            for (n, o) in ops.into_iter().enumerate() {
                match o {
                    Op::Push(l, c, h) => v.push(&line(l, c, h, n)),
                    Op::Level(l) => v.set_min_level(l.map(|i| [Level::Debug, Level::Info, Level::Warn, Level::Error][i as usize])),
                    Op::Query(on) => v.query = if on { "needle".into() } else { String::new() },
                    Op::Clear => v.clear(),
                    Op::Look => {}
                }
                prop_assert_eq!(kept(&v), naive(&v));
                prop_assert_eq!(v.filtered_len(), naive(&v).0.len());
            }
        }
    }

    #[test]
    fn lines_past_the_cap_leave_the_view_and_their_matches() {
        let mut v = LogView {
            query: "needle".into(),
            ..LogView::default()
        };
        v.set_min_level(Some(Level::Info));
        for n in 0..LOG_CAP + 50 {
            v.push(&line((n % 4) as u8, n % 5 == 4, n % 3 == 0, n));
            if n % 997 == 0 {
                assert_eq!(kept(&v), naive(&v), "after {n} lines");
            }
        }
        assert_eq!(v.lines().len(), LOG_CAP);
        assert_eq!(kept(&v), naive(&v));
        assert_eq!(v.filtered_at(0).map(|l| &l.text), naive(&v).0.first());
        assert_eq!(v.filtered_at(v.filtered_len()), None);
    }
}
