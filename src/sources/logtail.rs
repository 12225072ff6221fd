//! The dashboard's log source: a [`Follower`] woken by the file watcher.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::send;
use crate::app::msg::{Msg, Tx};
use crate::logs::follow::{FollowEvent, Follower};

/// Lines shown at once on open.
pub const BACKLOG_LINES: usize = 1000;

fn to_msg(e: FollowEvent) -> Msg {
    match e {
        FollowEvent::Reset {
            path,
            lines,
            reason,
        } => Msg::LogReset {
            path,
            lines,
            reason,
        },
        FollowEvent::Lines(l) => Msg::LogLines(l),
    }
}

pub fn run(logs_dir: PathBuf, tx: Tx, poke: Receiver<()>) {
    let (mut follower, first) = Follower::open(logs_dir, BACKLOG_LINES);
    if !send(&tx, to_msg(first)) {
        return;
    }
    loop {
        // Pokes come from the file watcher; the timeout is a safety net for missed events.
        match poke.recv_timeout(Duration::from_secs(2)) {
            Ok(()) => while poke.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if !follower.poll(&mut |e| send(&tx, to_msg(e))) {
            return;
        }
    }
}
