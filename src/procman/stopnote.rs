//! The "stopped on purpose" note: `stop` (CLI, dashboard, or a restart) writes it right before it
//! signals the worker, so `supervise` can tell an intentional stop from a crash. A file of our own
//! in the data dir, never one of claude-mem's.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files;
use crate::platform::StartToken;

pub const STOP_NOTE_FILE: &str = ".claude-mem-top.stopped.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopNote {
    /// The worker that was stopped on purpose.
    pub pid: i32,
    /// Its start token: the note never matches a later process.
    pub start_token: StartToken,
    /// When the stop began (ISO-8601 UTC).
    pub at: String,
    /// Who stopped it (our PID).
    pub by_pid: u32,
}

/// Record that `pid` (with `start_token`) is being stopped on purpose. Best effort: a failure to
/// write only means a supervisor would treat the stop as a crash.
pub fn record(dir: &Path, pid: i32, start_token: StartToken) {
    let note = StopNote {
        pid,
        start_token,
        at: files::iso_now(),
        by_pid: std::process::id(),
    };
    if let Ok(text) = serde_json::to_string(&note) {
        let _ = files::write_atomic(&dir.join(STOP_NOTE_FILE), text.as_bytes());
    }
}

/// The note, if present and valid.
pub fn read(dir: &Path) -> Option<StopNote> {
    let f = files::read_small(&dir.join(STOP_NOTE_FILE)).ok()??;
    serde_json::from_str(&f.text).ok()
}

/// True if the note names exactly this process.
pub fn names(dir: &Path, pid: i32, start_token: StartToken) -> bool {
    read(dir).is_some_and(|n| n.pid == pid && n.start_token == start_token)
}
