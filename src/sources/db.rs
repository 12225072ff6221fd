//! The database source: the core's read-only [`crate::procman::db::read`] and the new rows of
//! [`crate::procman::activity`], sent to the dashboard at most every 500 ms, when the data dir's
//! watcher pokes it, and every 5 s anyway.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::send;
use crate::app::msg::{Msg, Tx};
use crate::procman::activity::{self, Cursor};
use crate::procman::db::read;

/// Re-read at most this often (the WAL changes constantly while the worker runs).
const MIN_GAP: Duration = Duration::from_millis(500);

/// Rows read at most per table per sample (the panel keeps the newest of them).
const ACTIVITY_BATCH: usize = 50;

pub fn run(db: PathBuf, tx: Tx, poke: Receiver<()>) {
    let mut last = Instant::now() - MIN_GAP;
    let mut cursor = Cursor::default();
    loop {
        let gap = last.elapsed();
        if gap < MIN_GAP {
            std::thread::sleep(MIN_GAP - gap);
            while poke.try_recv().is_ok() {}
        }
        last = Instant::now();
        if !send(&tx, Msg::Db(Box::new(read(&db)))) {
            return;
        }
        // A missing or busy database has no new rows yet; the next sample tries again.
        if let Ok((items, next)) = activity::read(&db, cursor, ACTIVITY_BATCH) {
            cursor = next;
            if !items.is_empty() && !send(&tx, Msg::Activity(items)) {
                return;
            }
        }
        // Wake on a change, or every 5 s anyway (also retries a busy DB).
        match poke.recv_timeout(super::until_next(Duration::from_secs(5))) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
