//! Background producers. Each runs on its own thread and only SENDS messages; none touches the
//! model. Pokes (a unit message on a source's own channel) wake a source early.

pub mod census;
pub mod db;
pub mod fswatch;
pub mod health;
pub mod logtail;
pub mod metrics;

use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::app::msg::Msg;

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
pub fn send(tx: &Sender<Msg>, m: Msg) -> bool {
    tx.send(m).is_ok()
}
