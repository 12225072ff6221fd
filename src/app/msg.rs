//! Everything that can happen to the dashboard arrives as one of these.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::procman::status::Status;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// A one-line result for the header (copy, save, pager).
    Notice {
        text: String,
        ok: bool,
    },
    Resize(u16, u16),
    /// Time passed (drives uptime, spinners and highlight expiry).
    Tick(SystemTime),
    Status(Box<Status>),
    Api(Box<ApiInfo>),
    Files(Vec<FileInfo>, SystemTime),
    LogReset {
        path: Option<PathBuf>,
        lines: Vec<String>,
        reason: LogReset,
    },
    LogLines(Vec<String>),
    Metrics(Sample),
    Db(Box<DbState>),
    /// What the worker just stored (new database rows, `/stream` frames), newest first.
    Activity(Vec<crate::procman::activity::Item>),
    ActionDone {
        action: Action,
        result: Result<String, String>,
        elapsed: Duration,
    },
    /// The `supervise` process's state (when one runs) and the last "stopped on purpose" note.
    Supervisor {
        state: Option<Box<crate::supervise::SuperviseState>>,
        stop_note: Option<(i32, crate::platform::StartToken)>,
    },
    /// The census: every claude-mem process of this data dir.
    Census(Box<crate::procman::census::Census>),
    /// A process job (K, X, A) finished.
    ProcDone {
        job: ProcJob,
        result: Result<String, String>,
    },
    /// A free-form event for the timeline.
    Event(String),
    /// SIGTERM / SIGHUP / SIGINT from outside.
    Signal(crate::platform::Shutdown),
    /// SIGTSTP from outside (`kill -TSTP`): suspend as Ctrl-Z does.
    Suspend,
    /// The worker's live feed (`GET /stream`): connections, typed frames, drops.
    Stream(crate::procman::stream::StreamEvent),
    /// The worker's runs from its logs (`H`, and the timeline's start).
    History(Box<super::history::HistoryRead>),
    /// A memory search, the queue or the settings (`/` in Activity, `Q`, `C`).
    Memory(Box<super::memory::Read>),
    /// A log file read or searched on disk (`[`, `]`, a search past the lines held).
    LogWindow(Box<super::logfile::Found>),
}

/// The one channel into `update`: every source, task and effect sends on a clone. Unbounded, so
/// a source thread sends without a runtime and never blocks.
pub type Tx = tokio::sync::mpsc::UnboundedSender<Msg>;

pub use crate::logs::follow::LogReset;

/// Worker actions the keys trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}

pub use crate::procman::api::ApiInfo;

/// What the Processes panel's keys do, with exactly the processes each will touch.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcJob {
    /// `K`: end these processes (each proven again right before its signal).
    End(Vec<crate::procman::census::Member>),
    /// `X`: end the orphaned helpers.
    Reap(Vec<crate::procman::census::Member>),
    /// `A`: record this worker in the PID file (signals nothing).
    Adopt(Box<crate::procman::census::Member>),
}

impl ProcJob {
    pub fn verb(&self) -> &'static str {
        match self {
            ProcJob::End(_) => "stop process",
            ProcJob::Reap(_) => "reap",
            ProcJob::Adopt(_) => "adopt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub present: bool,
    pub value: String,
    pub mtime: Option<SystemTime>,
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub pid: i32,
    /// Percent of one core since the previous sample (None for the first).
    pub cpu_percent: Option<f64>,
    pub rss_bytes: u64,
    pub threads: u64,
    pub children: usize,
}

pub use crate::procman::db::{DbState, DbStats};
