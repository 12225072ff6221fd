//! Status and API sampling: the three layers every interval, and at once when poked (a PID file
//! changed, an action finished). A tokio task: the timer and the pokes are awaited on the
//! dashboard's runtime; the status read itself (identity proofs from the process table, file
//! reads, its HTTP requests through the blocking API) runs on tokio's blocking pool.
//!
//! It also names the port `/stream` should follow ([`super::stream`]): the status' port while a
//! worker answers there, else none.

use std::time::Duration;

use tokio::sync::{mpsc::UnboundedReceiver, watch};

use super::send;
use crate::app::msg::{Msg, Tx};
use crate::config::Config;
use crate::procman::status::{self, Extras, State, Status, StatusOpts};

/// The API, the installed version and PM2 leftovers are read every this many samples (and when
/// the state or PID changes); the three layers every sample.
const EXTRAS_EVERY: u64 = 5;

/// One sample: the status (with the extras carried over), whether the API in it is fresh, the
/// supervisor's state and the stop note.
fn sample(
    cfg: &Config,
    stall_after: Duration,
    n: u64,
    last_key: Option<(State, Option<i32>)>,
    extras: &mut Extras,
) -> (Status, bool, Msg) {
    let mut st = status::status(cfg, StatusOpts::default());
    let key = (st.state(), st.pid());
    let fresh = n.is_multiple_of(EXTRAS_EVERY) || last_key != Some(key);
    if fresh {
        // The census has a source of its own.
        *extras = Extras::read_without_census(cfg, &st, stall_after);
    }
    extras.apply(&mut st);
    let sup = crate::supervise::read_state(&cfg.data_dir).filter(|s| s.supervisor_alive());
    let note = crate::procman::stopnote::read(&cfg.data_dir).map(|n| (n.pid, n.start_token));
    let supervisor = Msg::Supervisor {
        state: sup.map(Box::new),
        stop_note: note,
    };
    (st, fresh, supervisor)
}

/// The port `/stream` follows: while a worker answers HTTP there.
fn stream_port(st: &Status) -> Option<u16> {
    matches!(st.state(), State::Running | State::Unmanaged).then_some(st.port)
}

pub async fn task(
    cfg: Config,
    interval: Duration,
    stall_after: Duration,
    tx: Tx,
    mut poke: UnboundedReceiver<()>,
    stream_port_tx: watch::Sender<Option<u16>>,
) {
    let mut n: u64 = 0;
    let mut last_key = None;
    let mut extras = Extras::default();
    loop {
        let job = {
            let cfg = cfg.clone();
            let mut extras = std::mem::take(&mut extras);
            tokio::task::spawn_blocking(move || {
                let out = sample(&cfg, stall_after, n, last_key, &mut extras);
                (out, extras)
            })
        };
        let Ok(((st, fresh, supervisor), kept)) = job.await else {
            return;
        };
        extras = kept;
        n += 1;
        last_key = Some((st.state(), st.pid()));
        let port = stream_port(&st);
        stream_port_tx.send_if_modified(|p| {
            let changed = *p != port;
            *p = port;
            changed
        });
        let api = if fresh { st.api.clone() } else { None };
        if !send(&tx, Msg::Status(Box::new(st))) || !send(&tx, supervisor) {
            return;
        }
        if let Some(a) = api {
            if !send(&tx, Msg::Api(Box::new(a))) {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(super::until_next(interval)) => {}
            p = poke.recv() => match p {
                Some(()) => while poke.try_recv().is_ok() {},
                None => return,
            },
        }
    }
}
