//! start / stop / restart / ensure: functions that act under the data dir's lock and return data.

use std::fs;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use super::files::{self, Identity, IDENTITY_FILE, PID_FILE, PORT_FILE};
use super::health;
use super::identity::{self, Proven};
use super::lock::Lock;
use super::migrate::{self, MigrateReport};
use super::spawn;
use super::status::{self, Layout, State, Status, StatusOpts, Worker};
use super::Error;
use crate::config::{fmt_duration, Config};
use crate::platform::{self, ProcHandle, StartToken, Stop};

#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// How long `start` waits for `/health` 200.
    pub timeout: Duration,
    /// How long `stop` waits after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// How long to wait for another claude-mem-top holding the lock.
    pub lock_wait: Duration,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            timeout: Duration::from_secs(10),
            grace: Duration::from_secs(5),
            lock_wait: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
pub enum StartOutcome {
    AlreadyRunning {
        pid: i32,
        port: u16,
    },
    Started {
        pid: i32,
        port: u16,
        elapsed: Duration,
        /// The spawned process: a long-lived caller must reap it (see `spawn::reap_in_background`).
        child: Child,
        notes: Vec<String>,
    },
}

#[derive(Debug)]
pub enum StopOutcome {
    NotRunning {
        notes: Vec<String>,
    },
    Stopped {
        pid: i32,
        elapsed: Duration,
        killed: bool,
    },
}

/// Notes of what `start` did besides starting (stale files removed, PM2 cleanup).
fn migrate_notes(r: Option<MigrateReport>, notes: &mut Vec<String>) {
    if let Some(r) = r {
        notes.push(r.note());
    }
}

fn ensure_dir(cfg: &Config) -> Result<(), Error> {
    fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| Error::io("cannot create data dir", &cfg.data_dir, e))
}

/// Preconditions before any side effect: a start that cannot happen (the worker's program is
/// missing) writes nothing, not even the data dir.
fn precheck(cfg: &Config) -> Result<status::Status, Error> {
    let st = status::status(cfg, StatusOpts::default());
    if !matches!(st.state(), State::Running | State::Unhealthy) {
        check_program(cfg)?;
    }
    Ok(st)
}

pub fn start(cfg: &Config, opts: Opts) -> Result<StartOutcome, Error> {
    let st = precheck(cfg)?;
    // A start that will be refused changes nothing on disk: no data dir, no lock file, no PM2
    // step. (A pm2 daemon that runs claude-mem-worker may be what holds the port: its cleanup
    // comes first.)
    if !migrate::pm2_runs_worker(cfg) {
        if let Some(e) = lasting_refusal(cfg, &st) {
            return Err(e);
        }
    }
    ensure_dir(cfg)?;
    let lock = Lock::acquire(&cfg.data_dir, opts.lock_wait)?;
    let mut notes = Vec::new();
    pm2_cleanup(cfg, &mut notes, true)?;
    start_locked(cfg, opts, &lock, notes)
}

/// A 13.x install (its files in the data dir, or the installed release): it keeps its own files
/// and log, and never used PM2, so we write none of the 7.1.0 files.
pub fn is_v13_install(cfg: &Config) -> bool {
    status::has_v13_files(&cfg.data_dir)
        || crate::release::installed_version(cfg)
            .and_then(|v| crate::release::major(&v))
            .is_some_and(|m| m >= 13)
}

/// The one-time PM2 cleanup of the 7.1.0 spec; never on a 13.x install. It runs `early` (before
/// start's checks) only while a pm2 daemon runs claude-mem-worker, which may be what holds the
/// port; otherwise only once start is not refused, so a refused start leaves no marker.
fn pm2_cleanup(cfg: &Config, notes: &mut Vec<String>, early: bool) -> Result<(), Error> {
    if migrate::marker_present(cfg) || is_v13_install(cfg) || migrate::pm2_runs_worker(cfg) != early
    {
        return Ok(());
    }
    let m = migrate::run(cfg, false)
        .map_err(|e| Error::io("cannot write the PM2 marker in", &cfg.data_dir, e))?;
    migrate_notes(m, notes);
    Ok(())
}

/// `ensure`: fast path without the lock when the worker is healthy; else start.
pub fn ensure(cfg: &Config, opts: Opts) -> Result<StartOutcome, Error> {
    let st = status::status(cfg, StatusOpts::default());
    if let Worker::Running(f) = &st.worker {
        return Ok(StartOutcome::AlreadyRunning {
            pid: f.proven.pid,
            port: st.port,
        });
    }
    start(cfg, opts)
}

/// An existing data dir that cannot be read is state unknown (4), as `status` says: actions are
/// refused for it before they write anything (a lock file, a marker).
pub fn readable_data_dir(cfg: &Config) -> Result<(), Error> {
    match std::fs::read_dir(&cfg.data_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Unknown(format!(
            "cannot read data dir {}: {e}",
            cfg.data_dir.display()
        ))),
        _ => Ok(()),
    }
}

pub fn restart(cfg: &Config, opts: Opts) -> Result<(StopOutcome, StartOutcome), Error> {
    readable_data_dir(cfg)?;
    check_program(cfg)?;
    // A restart that will be refused (by its stop, or by its start for good) writes nothing.
    let st = status::status(cfg, StatusOpts::default());
    if let Some(e) = lasting_stop_refusal(&st) {
        return Err(e);
    }
    if !migrate::pm2_runs_worker(cfg) {
        if let Some(e) = lasting_refusal(cfg, &st) {
            return Err(e);
        }
    }
    ensure_dir(cfg)?;
    let lock = Lock::acquire(&cfg.data_dir, opts.lock_wait)?;
    let stopped = stop_locked(cfg, opts, &lock)?;
    let mut notes = Vec::new();
    pm2_cleanup(cfg, &mut notes, true)?;
    let started = start_locked(cfg, opts, &lock, notes)?;
    Ok((stopped, started))
}

pub fn stop(cfg: &Config, opts: Opts) -> Result<StopOutcome, Error> {
    if !cfg.data_dir.is_dir() {
        return Ok(StopOutcome::NotRunning { notes: Vec::new() });
    }
    readable_data_dir(cfg)?;
    if let Some(e) = lasting_stop_refusal(&status::status(cfg, StatusOpts::default())) {
        return Err(e);
    }
    let lock = Lock::acquire(&cfg.data_dir, opts.lock_wait)?;
    stop_locked(cfg, opts, &lock)
}

/// Remove the 7.1.0 files we are allowed to remove: regular files of ours that still name `pid`
/// (or hold invalid content), plus our identity record.
fn clear_spec_files(cfg: &Config, pid: Option<i32>) -> Vec<String> {
    let mut removed = Vec::new();
    let pid_path = cfg.path(PID_FILE);
    let names_pid = |t: &str| match pid {
        Some(p) => files::parse_pid_file(&pid_path, t).map_or(true, |q| q == p),
        None => files::parse_pid_file(&pid_path, t).is_err(),
    };
    if files::remove_if(&pid_path, names_pid) {
        removed.push(pid_path.display().to_string());
    }
    let port_path = cfg.path(PORT_FILE);
    let port_names = |t: &str| match (pid, files::parse_port_file(&port_path, t)) {
        (Some(p), Ok((_, q))) => p == q,
        (_, Err(_)) => true,
        (None, Ok(_)) => !platform::exists(&pid_path),
    };
    if files::remove_if(&port_path, port_names) {
        removed.push(port_path.display().to_string());
    }
    let id_path = cfg.path(IDENTITY_FILE);
    if files::read_identity(&cfg.data_dir).is_some_and(|i| pid.is_none_or(|p| i.pid == p)) {
        let _ = fs::remove_file(&id_path);
    }
    removed
}

/// Remove our 7.1.0 files once the status proves them stale (they name a process that is gone or
/// is not the worker), e.g. after claude-mem restarted its worker by itself. Returns what was
/// removed.
pub fn clear_if_stale(cfg: &Config) -> Vec<String> {
    let st = status::status(cfg, StatusOpts::default());
    match &st.worker {
        Worker::Stale {
            record: Some(r), ..
        } if r.layout == Layout::Spec => clear_spec_files(cfg, Some(r.claim.pid)),
        _ => Vec::new(),
    }
}

/// Also remove a 7.x `worker.pid` JSON that names the worker we just stopped and that we wrote.
fn clear_json_pid(cfg: &Config, pid: i32) {
    let path = cfg.path(files::JSON_PID_FILE);
    files::remove_if(&path, |t| {
        files::parse_json_pid(&path, t).is_ok_and(|j| j.pid == pid)
    });
}

fn check_program(cfg: &Config) -> Result<(), Error> {
    let w = &cfg.worker;
    if let Some(script) = &w.script {
        if spawn::find_program(&w.argv[0], cfg.home.as_deref()).is_none() {
            return Err(Error::BunMissing);
        }
        if !script.is_file() {
            return Err(Error::ScriptMissing(script.clone()));
        }
    } else if spawn::find_program(&w.argv[0], cfg.home.as_deref()).is_none() {
        return Err(Error::ProgramMissing(w.argv[0].clone()));
    }
    Ok(())
}

fn refuse_foreign(p: &Proven) -> Result<(), Error> {
    match p.uid() {
        Some(u) if Some(u) != platform::current_uid() => Err(Error::Refused {
            target: format!("PID {}", p.pid),
            reason: format!("the worker belongs to uid {u}, not to you"),
        }),
        _ => Ok(()),
    }
}

/// Why `start` must not go on from this status (nothing running to wait for, and something in
/// the way): an unreadable state, a listener or worker on the port that is not ours to replace,
/// a PID file naming another data dir's worker. Checked before the lock (so a refused start
/// writes nothing, not even the lock file) and again under it.
fn refusal(st: &status::Status) -> Option<Error> {
    let port_in_use = |holder: String| {
        Some(Error::PortInUse {
            port: st.port,
            holder,
        })
    };
    match &st.worker {
        Worker::Running(_) | Worker::Unhealthy { found: Some(_), .. } => None,
        Worker::Unknown { reason } => Some(Error::Unknown(reason.clone())),
        // A wedged listener no PID file proves: not ours to wait for or to replace.
        Worker::Unhealthy { found: None, .. } => port_in_use(match &st.port_holder {
            Some(h) => format!("{h}, which {}", status::WEDGED),
            None => format!("a listener that {}", status::WEDGED),
        }),
        Worker::Unmanaged { .. } => port_in_use(
            st.port_holder
                .as_ref()
                .map(|h| format!("an unmanaged worker, {h}"))
                .unwrap_or_else(|| "an unmanaged worker".into()),
        ),
        // Not ours to stop: the way out is another port for this data dir.
        Worker::Taken { .. } => Some(Error::StartRefused(format!(
            "port {} is held by {}: give this data dir a free CLAUDE_MEM_WORKER_PORT in its \
             settings.json",
            st.port,
            elsewhere(st)
        ))),
        Worker::Stale { reason, .. } if st.elsewhere.is_some() => Some(Error::StartRefused(
            format!("{reason}: move that file away, then start"),
        )),
        Worker::Stale { .. } | Worker::Stopped => {
            platform::port_holder(st.port).and_then(|h| port_in_use(h.to_string()))
        }
    }
}

/// The refusals that no concurrent `start` of ours can change, checked before the lock: an
/// unreadable state, another's worker, a port held by a program that is no claude-mem worker.
/// (A worker that answers without a PID file may be one another `ensure` is starting right now:
/// that is decided under the lock.)
fn lasting_refusal(cfg: &Config, st: &status::Status) -> Option<Error> {
    let lasting = unchangeable(st)
        || (st.proven().is_none()
            && platform::port_holder(st.port)
                .and_then(|h| h.pid)
                .and_then(platform::proc_info)
                .is_some_and(|i| !super::census::is_worker_argv(&i.cmdline, &cfg.worker)));
    lasting.then(|| refusal(st)).flatten()
}

/// States no action of ours can change: unreadable, or another data dir's or user's worker
/// named by the PID file or holding the port.
fn unchangeable(st: &status::Status) -> bool {
    match &st.worker {
        Worker::Unknown { .. } | Worker::Taken { .. } => true,
        Worker::Stale { .. } => st.elsewhere.is_some(),
        _ => false,
    }
}

fn start_locked(
    cfg: &Config,
    opts: Opts,
    _lock: &Lock,
    mut notes: Vec<String>,
) -> Result<StartOutcome, Error> {
    let st = status::status(cfg, StatusOpts::default());
    match &st.worker {
        Worker::Running(f) => {
            return Ok(StartOutcome::AlreadyRunning {
                pid: f.proven.pid,
                port: st.port,
            })
        }
        Worker::Unhealthy { found: Some(_), .. } => return wait_unhealthy(cfg, opts, st),
        _ => {}
    }
    if let Some(e) = refusal(&st) {
        return Err(e);
    }
    if let Worker::Stale { record, reason } = &st.worker {
        let pid = record.as_ref().map(|r| r.claim.pid);
        if let Some(p) = pid {
            // A worker killed a moment ago can still be a zombie that its parent has not
            // reaped: claude-mem's own worker takes that for a live worker and exits. Wait
            // (bounded) until it is really gone.
            if wait_reaped(p, REAP_WAIT) {
                notes.push(format!("waited for the exited worker {p} to be reaped"));
            }
        }
        let removed = clear_spec_files(cfg, pid);
        if !removed.is_empty() {
            notes.push(format!("removed stale {} ({reason})", removed.join(", ")));
        }
    }
    check_program(cfg)?;
    let port = st.port;
    pm2_cleanup(cfg, &mut notes, false)?;

    let v13 = is_v13_install(cfg);
    // On 13.x the worker's own dated log is the one log: its stdout and stderr go there too.
    let log = spawn::dated_log(&cfg.logs_dir(), if v13 { "claude-mem" } else { "worker" });
    let t0 = Instant::now();
    let mut spawn_cfg = cfg.clone();
    spawn_cfg.port = port;
    let mut child = spawn::spawn_worker(&spawn_cfg, &cfg.worker, &log)
        .map_err(|e| Error::io("cannot start the worker; log", &log, e))?;
    let pid = child.id() as i32;
    let handle = ProcHandle::open_current(pid);
    let token = handle.as_ref().map(ProcHandle::token);

    // Record it: our identity first (exact start token), then the 7.1.0 files.
    let write = |name: &str, content: String| {
        files::write_atomic(&cfg.path(name), content.as_bytes())
            .map_err(|e| Error::io("cannot write", cfg.path(name), e))
    };
    let recorded = (|| {
        if let Some(token) = token {
            let id = Identity {
                pid,
                start_token: token,
                port,
                started_at: files::iso_now(),
                argv: cfg.worker.argv.clone(),
            };
            write(
                IDENTITY_FILE,
                serde_json::to_string(&id).unwrap_or_default(),
            )?;
        }
        if !v13 {
            write(PID_FILE, pid.to_string())?;
            write(PORT_FILE, format!("{port}\n{pid}"))?;
        }
        if release_uses_json_pid(cfg, st.layout) {
            write(
                files::JSON_PID_FILE,
                serde_json::to_string_pretty(&serde_json::json!({
                    "pid": pid, "port": port, "startedAt": files::iso_now(), "version": "claude-mem-top"
                }))
                .unwrap_or_default(),
            )?;
        }
        Ok(())
    })();
    if let Err(e) = recorded {
        kill_child(&mut child, pid);
        clear_spec_files(cfg, Some(pid));
        return Err(e);
    }

    // Wait for health; notice death at once through the pidfd.
    let deadline = t0 + opts.timeout;
    let mut backoff = Duration::from_millis(2);
    loop {
        if let Ok(Some(exit)) = child.try_wait() {
            clear_spec_files(cfg, Some(pid));
            clear_json_pid(cfg, pid);
            return Err(Error::DiedDuringStartup {
                status: platform::describe_exit(exit),
                tail: log_tail(&log),
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_child(&mut child, pid);
            clear_spec_files(cfg, Some(pid));
            clear_json_pid(cfg, pid);
            return Err(Error::HealthTimeout {
                after: fmt_duration(opts.timeout),
                tail: log_tail(&log),
            });
        }
        let probe = health::get(cfg.host, port, "/health", left.min(health::DEFAULT_TIMEOUT));
        if probe.healthy() {
            return Ok(StartOutcome::Started {
                pid,
                port,
                elapsed: t0.elapsed(),
                child,
                notes,
            });
        }
        let nap = backoff.min(deadline.saturating_duration_since(Instant::now()));
        match &handle {
            Some(h) => {
                h.wait_exit(nap);
            }
            None => std::thread::sleep(nap),
        }
        // A refused loopback connect costs tens of µs: retrying every 5 ms reports health within
        // a few ms of the worker listening (a 50 ms cap cost 25 ms on average; bench row 3).
        backoff = (backoff * 2).min(Duration::from_millis(5));
    }
}

/// How long `start` waits for an exited worker's zombie to be reaped (init reaps orphans within
/// 1–2 s on some machines).
const REAP_WAIT: Duration = Duration::from_secs(5);

/// If `pid` is a zombie, wait at most `limit` until its entry is gone (reaped, or the PID now
/// names another process). True if there was a zombie to wait for.
pub fn wait_reaped(pid: i32, limit: Duration) -> bool {
    let Some(token) = platform::proc_info(pid)
        .filter(|i| i.zombie)
        .map(|i| i.start)
    else {
        return false;
    };
    let deadline = Instant::now() + limit;
    while platform::proc_info(pid).is_some_and(|i| i.start == token) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// When the installed claude-mem is a 7.x–12.x release, its own tools read `worker.pid` JSON:
/// record our worker there too so they see it (issue: agreeing with the release's tools).
fn release_uses_json_pid(cfg: &Config, layout: Layout) -> bool {
    if layout == Layout::V13 || status::has_v13_files(&cfg.data_dir) {
        return false;
    }
    crate::release::installed_version(cfg).is_some_and(|v| {
        v.split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| (7..13).contains(&m))
    })
}

/// Kill a child we spawned (its group, or where there is no group to signal, it and its
/// descendants) and reap it.
fn kill_child(child: &mut Child, pid: i32) {
    if !platform::signal_group(pid, Stop::Force) {
        let kids = proven_descendants(pid);
        let _ = child.kill();
        for (k, token) in kids {
            platform::signal_pid(k, token, Stop::Force);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last lines of the log, for error messages.
fn log_tail(log: &Path) -> String {
    let lines = crate::logs::tail_lines(log, 10);
    if lines.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = lines
            .iter()
            .map(|l| format!("  | {}", crate::logs::sanitize(l)))
            .collect();
        format!("\nlast lines of {}:\n{}", log.display(), shown.join("\n"))
    }
}

fn wait_unhealthy(cfg: &Config, opts: Opts, first: Status) -> Result<StartOutcome, Error> {
    let deadline = Instant::now() + opts.timeout;
    let mut st = first;
    let mut nap = Duration::from_millis(20);
    while Instant::now() < deadline {
        std::thread::sleep(nap.min(deadline.saturating_duration_since(Instant::now())));
        nap = (nap * 2).min(Duration::from_millis(200));
        st = status::status(cfg, StatusOpts::default());
        match &st.worker {
            Worker::Running(f) => {
                return Ok(StartOutcome::AlreadyRunning {
                    pid: f.proven.pid,
                    port: st.port,
                })
            }
            Worker::Unhealthy { found: Some(_), .. } => {}
            _ => break,
        }
    }
    match &st.worker {
        Worker::Unhealthy {
            found: Some(f),
            reason,
            ..
        } => Err(Error::Unhealthy {
            pid: f.proven.pid,
            reason: reason.clone(),
        }),
        // It stopped, went stale or lost its proof while we waited: say so, start nothing.
        _ => Err(Error::Unknown(format!(
            "the unhealthy worker became {} while start waited for it",
            st.state().label()
        ))),
    }
}

/// Who a refusal is about when no PID file proves the process: the port's listener, by PID
/// when the socket table shows it.
/// Whose worker holds the port, for an error: `PID 42, user root's worker for data dir …`.
fn elsewhere(st: &Status) -> String {
    st.elsewhere
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "a worker that is not this data dir's".into())
}

fn elsewhere_target(st: &Status) -> String {
    match st.elsewhere.as_ref().and_then(|e| e.pid) {
        Some(pid) => format!("PID {pid}"),
        None => format!("the listener on port {}", st.port),
    }
}

fn listener(st: &Status) -> String {
    match st.port_holder.as_ref().and_then(|h| h.pid) {
        Some(pid) => format!("PID {pid}"),
        None => format!("the listener on port {}", st.port),
    }
}

/// Why `stop` must not signal what this status names: an unreadable state, a PID file naming
/// another data dir's or user's worker (a copy, not ours to remove either), another's worker on
/// the port, an unmanaged or wedged listener no PID file proves. Checked before the lock (a
/// refused stop writes nothing) and again under it.
fn stop_refusal(st: &status::Status) -> Option<Error> {
    match &st.worker {
        Worker::Unknown { reason } => Some(Error::Unknown(reason.clone())),
        Worker::Stale { reason, .. } if st.elsewhere.is_some() => Some(Error::Refused {
            target: elsewhere_target(st),
            reason: reason.clone(),
        }),
        Worker::Taken { reason, .. } => Some(Error::Refused {
            target: elsewhere_target(st),
            reason: format!("{reason}, not this data dir's worker"),
        }),
        Worker::Unmanaged { .. } => Some(Error::Refused {
            target: listener(st),
            reason: format!(
                "it answers on port {} but no PID file proves it is the worker \
                 (`claude-mem-top adopt` records it, if it is yours)",
                st.port
            ),
        }),
        Worker::Unhealthy { found: None, .. } => Some(Error::Refused {
            target: listener(st),
            reason: format!(
                "port {} {} and no PID file proves it is the worker",
                st.port,
                status::WEDGED
            ),
        }),
        _ => None,
    }
}

/// The stop refusals no concurrent `start` of ours can change, checked before the lock: an
/// unreadable state, another's worker named by the PID file or on the port. (A worker that
/// answers without a PID file may be one a concurrent `start` is recording right now: that is
/// decided under the lock.)
fn lasting_stop_refusal(st: &status::Status) -> Option<Error> {
    unchangeable(st).then(|| stop_refusal(st)).flatten()
}

fn stop_locked(cfg: &Config, opts: Opts, _lock: &Lock) -> Result<StopOutcome, Error> {
    let st = status::status(cfg, StatusOpts::default());
    if let Some(e) = stop_refusal(&st) {
        return Err(e);
    }
    let proven = match &st.worker {
        Worker::Stale { record, reason } => {
            let pid = record.as_ref().map(|r| r.claim.pid);
            let mut notes: Vec<String> = clear_spec_files(cfg, pid)
                .into_iter()
                .map(|f| format!("removed stale {f}"))
                .collect();
            notes.push(format!("not signalled: {reason}"));
            return Ok(StopOutcome::NotRunning { notes });
        }
        // Only a proven worker is signalled.
        Worker::Running(f) | Worker::Unhealthy { found: Some(f), .. } => f.proven.clone(),
        // Stopped (the other states were refused above).
        _ => {
            let notes = clear_spec_files(cfg, None)
                .into_iter()
                .map(|f| format!("removed stale {f}"))
                .collect();
            return Ok(StopOutcome::NotRunning { notes });
        }
    };
    refuse_foreign(&proven)?;
    // Before any signal: a supervisor must see this as a stop, not a crash.
    super::stopnote::record(&cfg.data_dir, proven.pid, proven.token());
    let layout = st.layout;
    if layout == Layout::V13 {
        // Ask a 13.x worker to shut itself down first: it checkpoints its DB and removes
        // its own files.
        let t0 = Instant::now();
        let handle = ProcHandle::open(proven.pid, proven.token());
        let r = health::request(
            cfg.host,
            st.port,
            "POST",
            "/api/admin/shutdown",
            health::DEFAULT_TIMEOUT,
        );
        if matches!(&r.result, Ok(resp) if resp.status == 200) {
            if let Some(h) = handle {
                if h.wait_exit(opts.grace) {
                    clear_spec_files(cfg, Some(proven.pid));
                    clear_if_stale(cfg);
                    return Ok(StopOutcome::Stopped {
                        pid: proven.pid,
                        elapsed: t0.elapsed(),
                        killed: false,
                    });
                }
            }
        }
    }
    let (elapsed, killed) = terminate(&proven, opts.grace)?;
    clear_spec_files(cfg, Some(proven.pid));
    clear_json_pid(cfg, proven.pid);
    // Ours may name an earlier worker that claude-mem replaced by itself.
    clear_if_stale(cfg);
    Ok(StopOutcome::Stopped {
        pid: proven.pid,
        elapsed,
        killed,
    })
}

/// Ask the proven worker to stop ([`Stop::Graceful`]: its group when it leads one, else it and
/// its proven descendants), wait up to `grace` for it to exit, then [`Stop::Force`]. Returns
/// (elapsed, whether force was needed). Where the OS cannot deliver a graceful stop (a detached
/// Windows process has no console for CTRL_BREAK) it forces at once.
pub fn terminate(p: &Proven, grace: Duration) -> Result<(Duration, bool), Error> {
    let t0 = Instant::now();
    // The handle is opened against the proven start token: from here on it cannot refer to
    // another process, even if the PID is reused (or every signal re-checks the token where the
    // OS has no such handle).
    let handle = ProcHandle::open(p.pid, p.token()).ok_or_else(|| Error::Refused {
        target: format!("PID {}", p.pid),
        reason: "it is no longer the process that was proven".into(),
    })?;
    if !identity::still_same(p) {
        return Err(Error::Refused {
            target: format!("PID {}", p.pid),
            reason: "it is no longer the process that was proven".into(),
        });
    }
    let group = p.leads_group();
    let kids = if group {
        Vec::new()
    } else {
        proven_descendants(p.pid)
    };
    let send = |how| {
        if group {
            platform::signal_group(p.pid, how)
        } else {
            let sent = handle.signal(how);
            for (k, token) in &kids {
                platform::signal_pid(*k, *token, how);
            }
            sent
        }
    };
    let mut killed = false;
    let asked = send(Stop::Graceful);
    if !asked || !handle.wait_exit(grace) {
        killed = true;
        send(Stop::Force);
        if !handle.wait_exit(Duration::from_secs(5)) {
            return Err(Error::WouldNotDie { pid: p.pid });
        }
    }
    // Leftovers: members of its group (or its descendants) that outlived it.
    let any_left = || {
        if group {
            !platform::group_members(p.pid).is_empty()
        } else {
            kids.iter().any(|(k, t)| platform::is_same(*k, *t))
        }
    };
    if wait_then_force(grace.min(Duration::from_secs(1)), any_left, || {
        send(Stop::Force);
    }) {
        killed = true;
    }
    Ok((t0.elapsed(), killed))
}

/// Leftovers of a stopped worker: wait up to `within` for `any_left` to turn false, then call
/// `force` once. True if it had to.
pub fn wait_then_force(within: Duration, any_left: impl Fn() -> bool, force: impl Fn()) -> bool {
    let deadline = Instant::now() + within;
    while any_left() {
        if Instant::now() >= deadline {
            force();
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Descendants of a proven worker with their start tokens (re-checked before each signal).
fn proven_descendants(pid: i32) -> Vec<(i32, StartToken)> {
    platform::descendants(pid)
        .into_iter()
        .filter_map(|k| platform::start_token(k).map(|t| (k, t)))
        .collect()
}
