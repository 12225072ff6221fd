//! The census source: every claude-mem process of this data dir, every few seconds (a full
//! process scan each second would cost more than the whole idle dashboard), and at once when
//! poked (after a process job) or told which worker the PID file proves.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::send;
use crate::app::msg::{Msg, Tx};
use crate::config::Config;
use crate::procman::census::{self, Scope};

/// What wakes the census early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The worker the PID file proves now (or none).
    Named(Option<i32>),
    /// Take it again now.
    Poke,
}

/// How often the census is taken while nothing pokes it (a state change or an action does).
/// Each one reads the process table and, when a worker runs, asks the configured port who
/// answers there: a 13.x worker pays a millisecond or two of its JavaScript thread for that.
pub fn period(interval: Duration) -> Duration {
    (interval * 15).max(Duration::from_secs(10))
}

pub fn run(cfg: Config, interval: Duration, tx: Tx, notes: Receiver<Note>) {
    let mut named = None;
    let mut last = None;
    let mut scanner = census::Scanner::default();
    loop {
        let c = scanner.take(&cfg, Scope::DataDir, named);
        // Unchanged censuses are not sent: no redraw for nothing.
        if last.as_ref() != Some(&c.members) {
            last = Some(c.members.clone());
            if !send(&tx, Msg::Census(Box::new(c))) {
                return;
            }
        }
        match notes.recv_timeout(super::until_next(period(interval))) {
            Ok(Note::Named(n)) => named = n,
            Ok(Note::Poke) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(n) = notes.try_recv() {
            if let Note::Named(p) = n {
                named = p;
            }
        }
    }
}
