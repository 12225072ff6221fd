//! Background producers. Each runs on its own thread and only SENDS messages; none touches the
//! model. Pokes (a unit message on a source's own channel) wake a source early.

pub mod db;
pub mod fswatch;
pub mod health;
pub mod logtail;
pub mod metrics;

use std::sync::mpsc::Sender;

use crate::app::msg::Msg;

/// Send, ignoring a closed channel (the dashboard is quitting).
pub fn send(tx: &Sender<Msg>, m: Msg) -> bool {
    tx.send(m).is_ok()
}
