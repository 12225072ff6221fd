//! The worker's live feed for the dashboard: one [`crate::procman::stream::follow`] task (one
//! connection, one `sseClients`) on the port the health source names, its events sent on as
//! [`Msg::Stream`].

use std::net::IpAddr;

use tokio::sync::{mpsc, watch};

use crate::app::msg::{Msg, Tx};
use crate::procman::stream::{self, StreamEvent};

/// `up` says whether the stream is connected, for the health source's cadence.
pub async fn task(
    host: IpAddr,
    port: watch::Receiver<Option<u16>>,
    tx: Tx,
    up: watch::Sender<bool>,
) {
    let (events_tx, mut events) = mpsc::channel::<StreamEvent>(64);
    let forward = async move {
        while let Some(e) = events.recv().await {
            match &e {
                StreamEvent::Connected { .. } => up.send_replace(true),
                StreamEvent::Dropped { .. } => up.send_replace(false),
                StreamEvent::Frame(_) => false,
            };
            if tx.send(Msg::Stream(e)).is_err() {
                // The dashboard is quitting: dropping `events` ends the follower.
                return;
            }
        }
    };
    tokio::join!(stream::follow(host, port, events_tx), forward);
}
