//! Background producers. Each only SENDS messages on the one channel into `update`; none touches
//! the model. Pokes (a unit message on a source's own channel) wake a source early.
//!
//! `health` and `stream` are tasks on the dashboard's tokio runtime. `census`, `metrics`,
//! `logtail`, `db` and `fswatch` keep a thread each: every step they take is a blocking call
//! (the process table, SQLite, file reads, notify's own watcher thread) with nothing to await in
//! between, so as tasks each would hold a blocking-pool thread for good anyway; a named thread
//! says so plainly and keeps their std-channel pokes as they are.

pub mod census;
pub mod db;
pub mod fswatch;
pub mod health;
pub mod logtail;
pub mod metrics;
pub mod stream;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::app::msg::{Msg, Tx};

/// Time until the next multiple of `interval` on the wall clock. Periodic sources wait with it,
/// so they all sample at the same instants and the dashboard draws their results as one frame
/// instead of one frame per source at its own phase.
pub fn until_next(interval: Duration) -> Duration {
    let iv = interval.as_millis().max(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Duration::from_millis((iv - now % iv) as u64)
}

/// Send, ignoring a closed channel (the dashboard is quitting).
pub fn send(tx: &Tx, m: Msg) -> bool {
    tx.send(m).is_ok()
}
