//! Status and API sampling: the three layers every interval (every [`STREAM_SAMPLE_EVERY`]
//! intervals while `/stream` is connected, whose drop starts one at once), and at once when poked
//! (a PID file changed, an action finished); the disk's extras and the worker's API less often. A tokio task: the timer and the pokes are awaited on the
//! dashboard's runtime; the status read itself (identity proofs from the process table, file
//! reads, its HTTP requests through the blocking API) runs on tokio's blocking pool.
//!
//! It also names the port `/stream` should follow ([`super::stream`]): the status' port while a
//! worker answers there, else none.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc::UnboundedReceiver, watch};

use super::send;
use crate::app::msg::{Msg, Tx};
use crate::config::Config;
use crate::procman::status::{self, Extras, State, Status, StatusOpts};

/// The disk's extras (installed version, PM2 leftovers, the pipeline's files, history) are read
/// this often, and when the state or PID changes; the three layers every sample.
const EXTRAS_PERIOD: Duration = Duration::from_secs(5);

/// The worker's API is asked this often (and when the state or PID changes). Each request costs
/// a 13.x worker one to two milliseconds of its one JavaScript thread, and what the API says
/// changes slowly or reaches the dashboard by other ways: the queue in `/stream`'s
/// `processing_status` frames, the active sessions in every `/health` answer, the stored rows
/// from the database.
pub const API_PERIOD: Duration = Duration::from_secs(30);

/// While `/stream` is connected, a sample (and its `GET /health`) every this many intervals:
/// the worker's exit closes the stream, which starts a sample at once, and the PID files are
/// watched. Only a worker that stops answering with its socket open waits for the next one.
pub const STREAM_SAMPLE_EVERY: u32 = 3;

/// When the next sample is due: every interval, or every [`STREAM_SAMPLE_EVERY`] while the
/// stream is up.
pub fn period(interval: Duration, stream_up: bool) -> Duration {
    if stream_up {
        interval * STREAM_SAMPLE_EVERY
    } else {
        interval
    }
}

/// What one sample reads besides the three layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Due {
    /// The disk's extras.
    extras: bool,
    /// The worker's API (with the extras).
    api: bool,
}

/// One sample: the status (with the extras carried over), whether the API in it is fresh, the
/// supervisor's state and the stop note.
fn sample(cfg: &Config, stall_after: Duration, due: Due, extras: &mut Extras) -> (Status, Msg) {
    let mut st = status::status(cfg, StatusOpts::default());
    if due.extras || due.api {
        if !due.api {
            // Not the API's turn: the last answers stand in for a new round.
            st.api_prefetch = extras.api.clone();
        }
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
    (st, supervisor)
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
    stream_up: watch::Receiver<bool>,
) {
    let mut stream_up = Some(stream_up);
    let mut last_key = None;
    let mut extras = Extras::default();
    // When the extras and the API were last read (none yet).
    let (mut extras_at, mut api_at): (Option<Instant>, Option<Instant>) = (None, None);
    loop {
        // Whether the state or PID changed is known only after the read; the state and PID
        // read last time decide here, and a change is read again at once below.
        let now = Instant::now();
        let due_at = |at: Option<Instant>, every: Duration| {
            at.is_none_or(|t| now.duration_since(t) >= every)
        };
        let due = Due {
            extras: due_at(extras_at, EXTRAS_PERIOD),
            api: due_at(api_at, API_PERIOD),
        };
        let job = {
            let cfg = cfg.clone();
            let mut extras = std::mem::take(&mut extras);
            tokio::task::spawn_blocking(move || {
                let out = sample(&cfg, stall_after, due, &mut extras);
                (out, extras)
            })
        };
        let Ok(((st, supervisor), kept)) = job.await else {
            return;
        };
        extras = kept;
        if due.extras || due.api {
            extras_at = Some(now);
        }
        if due.api {
            api_at = Some(now);
        }
        let key = (st.state(), st.pid());
        let changed = last_key.is_some_and(|k| k != key);
        last_key = Some(key);
        if changed && !due.api {
            // A new state or worker: the extras and the API of the old one no longer hold.
            extras_at = None;
            api_at = None;
        }
        let port = stream_port(&st);
        stream_port_tx.send_if_modified(|p| {
            let changed = *p != port;
            *p = port;
            changed
        });
        let api = if due.api { st.api.clone() } else { None };
        if !send(&tx, Msg::Status(Box::new(st))) || !send(&tx, supervisor) {
            return;
        }
        if let Some(a) = api {
            if !send(&tx, Msg::Api(Box::new(a))) {
                return;
            }
        }
        if api_at.is_none() {
            // Changed: read the new state's extras now rather than an interval late.
            continue;
        }
        let up = stream_up.as_mut().is_some_and(|r| *r.borrow_and_update());
        tokio::select! {
            _ = tokio::time::sleep(super::until_next(period(interval, up))) => {}
            p = poke.recv() => match p {
                Some(()) => while poke.try_recv().is_ok() {},
                None => return,
            },
            // The stream closed (the worker may have exited) or opened: look now.
            () = stream_changed(&mut stream_up) => {}
        }
    }
}

/// Until the stream connects or drops. If its task is gone, never again (and samples keep
/// the interval).
async fn stream_changed(rx: &mut Option<watch::Receiver<bool>>) {
    if let Some(r) = rx {
        if r.changed().await.is_ok() {
            return;
        }
        *rx = None;
    }
    std::future::pending::<()>().await
}
