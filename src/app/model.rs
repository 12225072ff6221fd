//! All the state the screen shows: plain data, no I/O.

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
    Events,
    Processes,
    Health,
    Resources,
    Files,
    Database,
}

impl Focus {
    pub const ORDER: [Focus; 7] = [
        Focus::Logs,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub text: String,
    pub level: Option<Level>,
    pub entry: u64,
}

#[derive(Debug, Clone)]
pub struct LogView {
    pub path: Option<PathBuf>,
    pub lines: VecDeque<LogLine>,
    pub next_entry: u64,
    pub follow: bool,
    /// Visible (filtered) lines hidden below the view when not following.
    pub scroll: usize,
    pub min_level: Option<Level>,
    pub wrap: bool,
    pub query: String,
    /// Show each line's leading `[YYYY-MM-DD hh:mm:ss.mmm]` stamp (`t` hides it).
    pub timestamps: bool,
    /// Columns scrolled to the right (wrap off).
    pub hscroll: usize,
    /// Total lines received (for the title).
    pub received: u64,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            path: None,
            lines: VecDeque::new(),
            next_entry: 0,
            follow: true,
            scroll: 0,
            min_level: None,
            wrap: false,
            query: String::new(),
            timestamps: true,
            hscroll: 0,
            received: 0,
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
        self.lines.push_back(LogLine { text, level, entry });
        self.received += 1;
        if self.lines.len() > LOG_CAP {
            self.lines.pop_front();
        }
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.scroll = 0;
    }

    pub fn visible(&self, l: &LogLine) -> bool {
        match (self.min_level, l.level) {
            (None, _) | (_, None) => true,
            (Some(m), Some(v)) => v >= m,
        }
    }

    /// The selected line (the cursor): the bottom line of the view, as an index into
    /// `filtered()`.
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

    /// The filtered lines, oldest first.
    pub fn filtered(&self) -> Vec<&LogLine> {
        self.lines.iter().filter(|l| self.visible(l)).collect()
    }

    /// Entries (ids) that contain the query, in order.
    pub fn matching_entries(&self) -> Vec<u64> {
        if self.query.is_empty() {
            return Vec::new();
        }
        let q = self.query.to_lowercase();
        let mut out: Vec<u64> = Vec::new();
        for l in self.lines.iter().filter(|l| self.visible(l)) {
            if l.text.to_lowercase().contains(&q) && out.last() != Some(&l.entry) {
                out.push(l.entry);
            }
        }
        out
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
}

/// The dashboard's own restart policy (`a`; off by default): restart a worker that died, with
/// backoff 1 s doubling to 60 s, reset after a minute of health. Never while a supervisor runs.
#[derive(Debug, Clone, Default)]
pub struct AutoRestart {
    pub on: bool,
    pub restarts: u32,
    pub next_at: Option<SystemTime>,
    /// The last worker seen alive: (PID, start token).
    pub last_worker: Option<(i32, crate::platform::StartToken)>,
    /// The last "stopped on purpose" note: (PID, start token).
    pub stop_note: Option<(i32, crate::platform::StartToken)>,
    pub healthy_since: Option<SystemTime>,
}

impl AutoRestart {
    pub fn backoff(n: u32) -> std::time::Duration {
        std::time::Duration::from_secs(1u64 << n.min(6)).min(std::time::Duration::from_secs(60))
    }
}

impl Model {
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
        self.status.as_ref().map(|s| s.state)
    }

    /// The header badge: the action in progress wins over the sampled state.
    pub fn badge(&self) -> &'static str {
        match self.action {
            Some((Action::Start, _)) | Some((Action::Restart, _)) => "STARTING",
            Some((Action::Stop, _)) => "STOPPING",
            None => self.state().map_or("…", |s| s.label()),
        }
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
