//! Status and API sampling: the three layers every interval, and at once when poked (a PID file
//! changed, an action finished).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::send;
use crate::app::msg::Msg;
use crate::config::Config;
use crate::procman::status::{self, Extras, StatusOpts};

/// The API, the installed version and PM2 leftovers are read every this many samples (and when
/// the state or PID changes); the three layers every sample.
const EXTRAS_EVERY: u64 = 5;

pub fn run(
    cfg: Config,
    interval: Duration,
    stall_after: Duration,
    tx: Sender<Msg>,
    poke: Receiver<()>,
) {
    let mut n: u64 = 0;
    let mut last_key = None;
    let mut extras = Extras::default();
    loop {
        let mut st = status::status(&cfg, StatusOpts::default());
        let key = (st.state, st.pid);
        let fresh = n.is_multiple_of(EXTRAS_EVERY) || last_key != Some(key);
        if fresh {
            // The census has a source of its own.
            extras = Extras::read_without_census(&cfg, &st, stall_after);
        }
        extras.apply(&mut st);
        n += 1;
        last_key = Some(key);
        let api = if fresh { st.api.clone() } else { None };
        if !send(&tx, Msg::Status(Box::new(st))) {
            return;
        }
        let sup = crate::supervise::read_state(&cfg.data_dir).filter(|s| s.supervisor_alive());
        let note = crate::procman::stopnote::read(&cfg.data_dir).map(|n| (n.pid, n.start_token));
        if !send(
            &tx,
            Msg::Supervisor {
                state: sup.map(Box::new),
                stop_note: note,
            },
        ) {
            return;
        }
        if let Some(a) = api {
            if !send(&tx, Msg::Api(Box::new(a))) {
                return;
            }
        }
        match poke.recv_timeout(super::until_next(interval)) {
            Ok(()) => while poke.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
