//! The worker's HTTP side of a status read: the round of requests (`/health`, and with the
//! extras the API at the same time), the [`Prober`] that sends it while a second thread takes
//! the census's scan, the `/health` check, and what answers on the port when no PID file proves
//! a worker ([`probe_unmanaged`]; the state it leads to is
//! `decide::on_port`'s).

use std::net::IpAddr;

use super::decide;
use super::{Check, Layer, Layout, LocalExtras, Since, Status, StatusOpts, Worker};
use crate::config::Config;
use crate::platform;
use crate::procman::api::{self, ApiInfo, Family};
use crate::procman::census;
use crate::procman::health::{self, Probe};
use crate::procman::ownership;

/// The PID a healthy `/health` body reports (`pid`), if any.
pub(super) fn reported_pid(p: &Probe) -> Option<platform::Pid> {
    let v = p.result.as_ref().ok().filter(|_| p.healthy())?.json()?;
    platform::Pid::try_from(v.get("pid")?.as_i64()?).ok()
}

/// The `/health` layer's check.
pub(super) fn http_check(probe: &Probe) -> Check {
    let mut detail = probe.detail();
    if let Ok(r) = &probe.result {
        if r.status == 200 && r.json().is_none() && !r.body.is_empty() {
            detail.push_str(" (body is not JSON)");
        }
    }
    Check {
        name: Layer::Http,
        ok: probe.healthy(),
        detail,
        latency_ms: Some((probe.latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0),
    }
}

/// Which releases the API requests are for: 13.x when the PID file or the data dir says so.
pub(super) fn family(cfg: &Config, layout: Layout) -> Family {
    if layout == Layout::V13 || super::has_v13_files(&cfg.data_dir) {
        Family::V13
    } else {
        Family::Older
    }
}

/// What one round of requests brings: `/health`, and with the extras the API, asked at the
/// same time (so a status read costs one round of requests, not five in a row).
type Answers = (Probe, Option<ApiInfo>);

fn ask(host: IpAddr, port: u16, opts: StatusOpts, family: Family) -> Answers {
    if !opts.extras {
        return (health::get(host, port, "/health", opts.http_timeout), None);
    }
    let both = crate::procman::http::block_on(async {
        tokio::join!(
            crate::procman::http::fetch(host, port, "GET", "/health", opts.http_timeout),
            api::read_async(host, port, family)
        )
    });
    match both {
        Ok((probe, api)) => (probe, Some(api)),
        Err(_) => (health::get(host, port, "/health", opts.http_timeout), None),
    }
}

/// The worker's round of requests, and with the extras the work done while it runs: as soon
/// as the port is known ([`Prober::start`]) a second thread takes the census's scan of the
/// process table, and this one sends the round, waits on the worker, then proves the PID
/// file's process and reads the extras' files ([`Prober::finish`]) while the scan may still
/// run: the two threads' shares are about even. (This thread, not a new one, sends the round:
/// on a busy machine a new thread may wait for a core, and the worker's answers are the
/// longest part.) [`Prober::answer`] takes the answers; without the extras it asks in place.
pub(super) struct Prober<'scope, 'env> {
    scope: Option<&'scope std::thread::Scope<'scope, 'env>>,
    cfg: &'env Config,
    opts: StatusOpts,
    /// The port asked, and its answers.
    answered: Option<(u16, Answers)>,
    side: Option<std::thread::ScopedJoinHandle<'scope, census::Scan>>,
}

impl<'scope, 'env> Prober<'scope, 'env> {
    /// A prober that asks in place (no `scope`), or with the extras' side work on a thread of
    /// `scope`.
    pub(super) fn new(
        scope: Option<&'scope std::thread::Scope<'scope, 'env>>,
        cfg: &'env Config,
        opts: StatusOpts,
    ) -> Self {
        Prober {
            scope,
            cfg,
            opts,
            answered: None,
            side: None,
        }
    }

    /// With the extras, once: start the side work, then ask `port`.
    pub(super) fn start(&mut self, port: u16, family: Family) {
        let Some(scope) = self.scope.filter(|_| self.side.is_none()) else {
            return;
        };
        let cfg = self.cfg;
        self.side = Some(scope.spawn(move || census::scan(cfg)));
        self.answered = Some((port, ask(cfg.host, port, self.opts, family)));
    }

    /// `GET /health` on `st.port` (the API's answers go to `st.api_prefetch`): those of the
    /// round already sent to that port, else a round asked now.
    pub(super) fn answer(&mut self, st: &mut Status, family: Family) -> Probe {
        self.start(st.port, family);
        let (probe, api) = match self.answered.take() {
            Some((port, answers)) if port == st.port => answers,
            // Another port (a second PID file won): ask that one.
            _ => ask(self.cfg.host, st.port, self.opts, family),
        };
        st.api_prefetch = api;
        probe
    }

    /// With the extras: the disk reads and the scan (done now if nothing was asked).
    pub(super) fn finish(self) -> Option<(census::Scan, LocalExtras)> {
        self.scope?;
        // The disk reads here while the other thread may still scan.
        let local = LocalExtras::read(self.cfg, self.opts.activity);
        // A thread that panicked read nothing: the layers stand on their own.
        let scan = match self.side.map(|h| h.join()) {
            Some(Ok(scan)) => scan,
            Some(Err(_)) => census::Scan::default(),
            None => census::scan(self.cfg),
        };
        Some((scan, local))
    }
}

/// No PID file, or a stale one (`st.worker`): is a worker answering on the port anyway? Asks
/// the port, and when something accepted the connection, who listens and whose worker it is;
/// `decide::on_port` says what follows.
pub(super) fn probe_unmanaged(
    cfg: &Config,
    prober: &mut Prober<'_, '_>,
    st: &mut Status,
    family: Family,
) {
    let probe = prober.answer(st, family);
    let connected = !matches!(probe.result, Err(health::ProbeError::Refused));
    if connected {
        st.port_holder = platform::port_holder_of_listener(st.port);
    }
    let (stale, why) = match std::mem::replace(&mut st.worker, Worker::Stopped) {
        Worker::Stale { record, reason } => (record, Some(reason)),
        _ => (None, None),
    };
    let holder_pid = st.port_holder.as_ref().and_then(|h| h.pid);
    // Whose listener is it? Its PID from the socket table, else the one a 13.x worker reports
    // in `/health` (another user's sockets hide their PID), else the socket's owner alone.
    let taken = connected
        .then(|| {
            ownership::of_listener(
                holder_pid.or_else(|| reported_pid(&probe)),
                st.port_holder.as_ref().and_then(|h| h.uid),
                probe.healthy(),
                cfg,
            )
        })
        .flatten();
    let (worker, elsewhere) = decide::on_port(st.port, &probe, taken, stale, why, || {
        Since::of(
            holder_pid
                .and_then(platform::proc_info)
                .and_then(|i| i.started),
        )
    });
    st.worker = worker;
    if elsewhere.is_some() {
        st.elsewhere = elsewhere;
    }
    st.checks.push(http_check(&probe));
    st.probe = Some(probe);
}
