//! The supervisor's run loop: start or adopt the worker, wait on it, probe it, restart it with
//! backoff or go FATAL, and stop it on a signal. The policy and the state file are in `mod.rs`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::{
    read_state, Budget, Policy, RestartPolicy, Stage, SuperviseArgs, SuperviseState, Verdict,
};
use super::{LOCK_FILE, SCHEMA_VERSION, STATE_FILE};
use crate::config::{fmt_bytes, fmt_duration, Config};
use crate::logs::Level;
use crate::platform::{self, ProcHandle, Shutdown, StartToken, Stop};
use crate::procman::control::{self, StartOutcome};
use crate::procman::lock::{Lock, LockError};
use crate::procman::status::{self, State, StatusOpts};
use crate::procman::{files, health, spawn, stopnote, Error};

enum Ev {
    Signal(Shutdown),
    Exited {
        pid: i32,
        status: Option<ExitStatus>,
    },
}

/// Wait for our own child in a thread (which reaps it) and report its exit.
fn watch_child(mut child: Child, tx: Sender<Ev>) {
    let pid = child.id() as i32;
    let _ = std::thread::Builder::new()
        .name("supervise-wait".into())
        .spawn(move || {
            let status = child.wait().ok();
            let _ = tx.send(Ev::Exited { pid, status });
        });
}

/// Watch a worker somebody else started (init reaps it) through a process handle: an OS exit
/// notification where there is one, else polling its start token.
fn watch_pid(pid: i32, token: StartToken, tx: Sender<Ev>) {
    let _ = std::thread::Builder::new()
        .name("supervise-watch".into())
        .spawn(move || {
            if let Some(h) = ProcHandle::open(pid, token) {
                while !h.wait_exit(Duration::from_secs(3600)) {}
            }
            let _ = tx.send(Ev::Exited { pid, status: None });
        });
}

/// How a supervised worker ended, as the log's sentence says it, and whether that was clean.
fn exit_sentence(s: Option<ExitStatus>) -> (String, bool) {
    match s {
        Some(s) if s.success() => ("exited cleanly (exit code 0)".into(), true),
        Some(s) => match s.code() {
            Some(c) => (format!("exited with code {c}"), false),
            None => (
                platform::describe_exit(s).replace("killed by", "was killed by"),
                false,
            ),
        },
        None => ("exited (status unknown: not our child)".into(), false),
    }
}

struct Worker {
    pid: i32,
    port: u16,
    token: Option<StartToken>,
    /// We spawned it: it leads its own process group.
    ours: bool,
    healthy_since: Option<Instant>,
    unhealthy_since: Option<Instant>,
    /// Samples in a row above `--max-memory`.
    over_memory: u32,
}

enum Phase {
    Starting,
    Watching(Worker),
    Backoff(Instant),
    /// Stopped on purpose (or exited cleanly under on-failure): wait for someone to start it.
    Idle,
}

enum Next {
    Go(Phase),
    Exit(u8),
}

struct Supervisor<'a> {
    cfg: &'a Config,
    p: Policy,
    tx: Sender<Ev>,
    rx: Receiver<Ev>,
    state: SuperviseState,
    /// The restarts within the window and the backoff streak.
    budget: Budget<Instant>,
    /// A worker we stopped ourselves (unhealthy): its exit is expected.
    self_stopped: Option<i32>,
}

/// Keep another supervisor off this data dir: one try, no waiting. The kernel releases the lock
/// if we die.
fn take_lock(dir: &Path) -> Result<Lock, String> {
    match Lock::acquire_file(dir, LOCK_FILE, Duration::ZERO) {
        Ok(lock) => Ok(lock),
        Err(LockError::Timeout { .. }) => {
            let who = read_state(dir)
                .map(|s| format!(" (PID {})", s.supervisor_pid))
                .unwrap_or_default();
            Err(format!(
                "another supervisor{who} already supervises {}",
                dir.display()
            ))
        }
        Err(e @ LockError::Open { .. }) => Err(e.to_string()),
    }
}

/// Run the supervisor until FATAL, `--restart never` ends it, or a signal. Returns the exit code.
pub fn run(cfg: &Config, args: &SuperviseArgs) -> Result<u8, (u8, String)> {
    let p = Policy::from_args(args);
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        (
            1,
            format!("cannot create data dir {}: {e}", cfg.data_dir.display()),
        )
    })?;
    let _lock = take_lock(&cfg.data_dir).map_err(|m| (1, m))?;
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        platform::shutdown_signals(move |s| tx.send(Ev::Signal(s)).is_ok())
            .map_err(|e| (1, format!("cannot install signal handlers: {e}")))?;
    }
    let me = std::process::id();
    let now = files::iso_now();
    let state = SuperviseState {
        schema_version: SCHEMA_VERSION,
        supervisor_pid: me,
        supervisor_start_token: platform::start_token(me as i32),
        state: Stage::Starting,
        policy: p.restart,
        max_restarts: p.max_restarts,
        window_seconds: p.window.as_secs_f64(),
        started_at: now.clone(),
        updated_at: now,
        ..SuperviseState::default()
    };
    let mut s = Supervisor {
        cfg,
        p,
        tx,
        rx,
        state,
        budget: Budget::default(),
        self_stopped: None,
    };
    s.log(
        Level::Info,
        &format!(
            "supervising the worker {{policy={}, max_restarts={}, window={}{}, pid={me}}}",
            s.p.restart.label(),
            s.p.max_restarts,
            fmt_duration(s.p.window),
            s.p.max_memory
                .map(|(m, scope, n)| format!(
                    ", max_memory={} of the {}, samples={n}",
                    fmt_bytes(m),
                    scope.label()
                ))
                .unwrap_or_default()
        ),
    );
    Ok(s.main_loop())
}

impl Supervisor<'_> {
    /// One line in the dated worker log (claude-mem's format) and on stderr.
    fn log(&mut self, level: Level, msg: &str) {
        let line = format!(
            "[{}] [{}] [SUPERVISOR] {msg}",
            platform::local_now().format("%Y-%m-%d %H:%M:%S%.3f"),
            level.padded()
        );
        eprintln!("{line}");
        // On 13.x the worker's own log is the one log: supervisor lines go there too.
        let prefix = if control::is_v13_install(self.cfg) {
            "claude-mem"
        } else {
            "worker"
        };
        let path = spawn::dated_log(&self.cfg.logs_dir(), prefix);
        if let Ok(mut f) = spawn::open_append(&path) {
            // One write call per line: O_APPEND keeps it whole among the worker's own lines.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }

    fn save(&mut self, state: Stage) {
        self.state.state = state;
        self.state.updated_at = files::iso_now();
        self.state.failures_in_window = self.budget.in_window();
        // Compact and bounded: the state file is read back with the small-file reader (4 KB).
        if let Some(r) = &mut self.state.last_reason {
            if r.len() > 500 {
                let cut = (0..=500)
                    .rev()
                    .find(|i| r.is_char_boundary(*i))
                    .unwrap_or(0);
                r.truncate(cut);
            }
        }
        if let Ok(text) = serde_json::to_string(&self.state) {
            let _ = files::write_atomic(&self.cfg.path(STATE_FILE), text.as_bytes());
        }
    }

    fn main_loop(&mut self) -> u8 {
        let mut phase = Phase::Starting;
        loop {
            let next = match phase {
                Phase::Starting => self.start(),
                Phase::Watching(w) => self.watch(w),
                Phase::Backoff(until) => self.backoff(until),
                Phase::Idle => self.idle(),
            };
            match next {
                Next::Go(p) => phase = p,
                Next::Exit(code) => return code,
            }
        }
    }

    fn adopt(&mut self, pid: i32, port: u16, ours: Option<Child>) -> Phase {
        let token = platform::start_token(pid);
        let is_ours = ours.is_some();
        match ours {
            Some(child) => watch_child(child, self.tx.clone()),
            None => match token {
                Some(t) => watch_pid(pid, t, self.tx.clone()),
                // Already gone: report its exit at once.
                None => {
                    let _ = self.tx.send(Ev::Exited { pid, status: None });
                }
            },
        }
        self.state.worker_pid = Some(pid);
        self.state.backoff_seconds = None;
        self.state.next_restart_at = None;
        self.save(Stage::Running);
        Phase::Watching(Worker {
            pid,
            port,
            token,
            ours: is_ours,
            healthy_since: None,
            unhealthy_since: None,
            over_memory: 0,
        })
    }

    fn start(&mut self) -> Next {
        self.save(Stage::Starting);
        match control::start(self.cfg, self.p.opts) {
            Ok(StartOutcome::Started {
                pid,
                port,
                elapsed,
                child,
                ..
            }) => {
                self.log(
                    Level::Info,
                    &format!(
                        "worker started {{pid={pid}, port={port}, ms={}}}",
                        elapsed.as_millis()
                    ),
                );
                let mut phase = self.adopt(pid, port, Some(child));
                if let Phase::Watching(w) = &mut phase {
                    w.healthy_since = Some(Instant::now());
                }
                Next::Go(phase)
            }
            Ok(StartOutcome::AlreadyRunning { pid, port }) => {
                self.log(
                    Level::Info,
                    &format!("watching the worker that already runs {{pid={pid}, port={port}}}"),
                );
                Next::Go(self.adopt(pid, port, None))
            }
            Err(Error::Unhealthy { pid, reason }) if pid > 1 => {
                let port = status::status(self.cfg, StatusOpts::default()).port;
                self.log(
                    Level::Warn,
                    &format!("the running worker is unhealthy: watching it {{pid={pid}, reason={reason}}}"),
                );
                let mut phase = self.adopt(pid, port, None);
                if let Phase::Watching(w) = &mut phase {
                    w.unhealthy_since = Some(Instant::now());
                }
                Next::Go(phase)
            }
            Err(e @ (Error::BunMissing | Error::ScriptMissing(_) | Error::ProgramMissing(_))) => {
                let msg = e.to_string();
                self.fatal(&format!("cannot start the worker: {msg}"));
                Next::Exit(e.exit_code())
            }
            Err(Error::PortInUse { port, holder }) => {
                // Someone else's worker (unmanaged, another version) is never ours to kill.
                let census = crate::procman::census::take(
                    self.cfg,
                    crate::procman::census::Scope::DataDir,
                    None,
                );
                let what = census
                    .workers()
                    .find(|m| m.ports.contains(&port))
                    .map(|m| {
                        let others = matches!(
                            m.class,
                            crate::procman::census::Class::Foreign
                                | crate::procman::census::Class::OtherUser
                        );
                        format!(
                            "the claude-mem worker PID {} ({}{}) holds port {port}; not ours to stop \
                             ({})",
                            m.pid,
                            m.class.label(),
                            m.version.as_deref().map(|v| format!(", v{v}")).unwrap_or_default(),
                            if others {
                                "another data dir's or user's: give this data dir another port"
                            } else {
                                "`claude-mem-top adopt` records it, `claude-mem-top ps` lists it"
                            }
                        )
                    })
                    .unwrap_or_else(|| format!("port {port} is held by {holder}"));
                self.failed(None, &format!("start failed: {what}"))
            }
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                self.failed(None, &format!("start failed: {first}"))
            }
        }
    }

    /// Kill what is left of a crashed worker's process group (its helpers would hold the port).
    /// Only for a worker we spawned with setsid: while any member lives, the kernel keeps the
    /// group ID from being reused, so these are the worker's own leftovers.
    fn reap_group(&mut self, w: &Worker) {
        if !w.ours || platform::group_members(w.pid).is_empty() {
            return;
        }
        let n = platform::group_members(w.pid).len();
        platform::signal_group(w.pid, Stop::Graceful);
        control::wait_then_force(
            self.p.opts.grace.min(Duration::from_secs(2)),
            || !platform::group_members(w.pid).is_empty(),
            || {
                platform::signal_group(w.pid, Stop::Force);
            },
        );
        self.log(
            Level::Info,
            &format!(
                "stopped {n} leftover process(es) of the worker's group {{pgid={}}}",
                w.pid
            ),
        );
    }

    fn watch(&mut self, mut w: Worker) -> Next {
        match self.rx.recv_timeout(self.p.health_interval) {
            Ok(Ev::Signal(sig)) => self.shutdown(sig, Some(w)),
            Ok(Ev::Exited { pid, status }) if pid == w.pid => {
                self.state.worker_pid = None;
                self.reap_group(&w);
                // Files of ours naming the worker that just exited are stale now.
                control::wait_reaped(pid, Duration::from_secs(2));
                for f in control::clear_if_stale(self.cfg) {
                    self.log(Level::Info, &format!("removed stale {f} {{pid={pid}}}"));
                }
                if self.self_stopped == Some(pid) {
                    self.self_stopped = None;
                    return Next::Go(Phase::Starting);
                }
                if w.token
                    .is_some_and(|t| stopnote::names(&self.cfg.data_dir, pid, t))
                {
                    self.log(
                        Level::Info,
                        &format!(
                            "worker stopped on purpose (claude-mem-top stop): not restarting; \
                             `claude-mem-top start` starts it again {{pid={pid}}}"
                        ),
                    );
                    self.state.last_reason = Some("stopped on purpose".into());
                    self.save(Stage::Stopped);
                    return Next::Go(Phase::Idle);
                }
                let (how, clean) = exit_sentence(status);
                match self.p.restart {
                    RestartPolicy::Never => {
                        let level = if clean { Level::Info } else { Level::Error };
                        self.log(
                            level,
                            &format!(
                                "worker {how}; --restart never: the supervisor exits {{pid={pid}}}"
                            ),
                        );
                        self.state.last_reason = Some(how);
                        self.save(Stage::Exited);
                        Next::Exit(u8::from(!clean))
                    }
                    RestartPolicy::OnFailure if clean => {
                        self.log(
                            Level::Info,
                            &format!(
                                "worker {how}: not a failure, not restarting (--restart on-failure) {{pid={pid}}}"
                            ),
                        );
                        self.state.last_reason = Some(how);
                        self.save(Stage::Stopped);
                        Next::Go(Phase::Idle)
                    }
                    _ => self.failed(Some(pid), &format!("worker {how}")),
                }
            }
            Ok(Ev::Exited { .. }) => Next::Go(Phase::Watching(w)),
            Err(RecvTimeoutError::Disconnected) => Next::Exit(1),
            Err(RecvTimeoutError::Timeout) => {
                if !platform::alive(w.pid) {
                    // The waiter will report it; give it a moment.
                    return Next::Go(Phase::Watching(w));
                }
                if let Some(why) = self.memory_check(&mut w) {
                    self.log(
                        Level::Warn,
                        &format!("restarting: {why}: stopping it {{pid={}}}", w.pid),
                    );
                    self.self_stopped = Some(w.pid);
                    if let Err(e) = control::stop(self.cfg, self.p.opts) {
                        self.log(
                            Level::Error,
                            &format!("cannot stop the worker over its memory limit: {e}"),
                        );
                    }
                    self.state.worker_pid = None;
                    return self.failed(Some(w.pid), &why);
                }
                let probe = health::get(self.cfg.host, w.port, "/health", health::DEFAULT_TIMEOUT);
                let now = Instant::now();
                if probe.healthy() {
                    w.unhealthy_since = None;
                    let since = *w.healthy_since.get_or_insert(now);
                    if self.budget.streak() > 0 && now.duration_since(since) >= self.p.reset_after {
                        self.budget.reset_streak();
                        self.log(
                            Level::Info,
                            &format!(
                                "worker healthy for {}: backoff reset to {}",
                                fmt_duration(self.p.reset_after),
                                fmt_duration(self.p.backoff_start)
                            ),
                        );
                    }
                    return Next::Go(Phase::Watching(w));
                }
                w.healthy_since = None;
                let since = *w.unhealthy_since.get_or_insert(now);
                if now.duration_since(since) < self.p.unhealthy_after
                    || self.p.restart == RestartPolicy::Never
                {
                    return Next::Go(Phase::Watching(w));
                }
                let why = if matches!(probe.result, Err(health::ProbeError::ReadTimeout(_))) {
                    format!(
                        "worker wedged for {}: it {} (GET /health: {})",
                        fmt_duration(self.p.unhealthy_after),
                        status::WEDGED,
                        probe.detail()
                    )
                } else {
                    format!(
                        "worker unhealthy for {} (GET /health: {})",
                        fmt_duration(self.p.unhealthy_after),
                        probe.detail()
                    )
                };
                self.log(
                    Level::Warn,
                    &format!("{why}: stopping it {{pid={}}}", w.pid),
                );
                self.self_stopped = Some(w.pid);
                if let Err(e) = control::stop(self.cfg, self.p.opts) {
                    self.log(
                        Level::Error,
                        &format!("cannot stop the unhealthy worker: {e}"),
                    );
                }
                self.state.worker_pid = None;
                self.failed(Some(w.pid), &why)
            }
        }
    }

    /// `--max-memory`: one sample; the reason to restart once enough in a row were above it.
    fn memory_check(&mut self, w: &mut Worker) -> Option<String> {
        let (limit, scope, samples) = self.p.max_memory?;
        let family = match scope {
            super::MemoryScope::Family => platform::descendants(w.pid),
            super::MemoryScope::Worker => Vec::new(),
        };
        let rss = platform::family_usage(w.pid, &family)?.rss_bytes;
        if rss <= limit {
            w.over_memory = 0;
            return None;
        }
        w.over_memory += 1;
        if w.over_memory < samples {
            return None;
        }
        let whose = match scope {
            super::MemoryScope::Worker => "the worker process alone".to_string(),
            super::MemoryScope::Family => {
                format!("the worker and {} child process(es)", family.len())
            }
        };
        Some(format!(
            "memory {} above --max-memory {} ({whose}; {samples} sample(s) in a row)",
            fmt_bytes(rss),
            fmt_bytes(limit),
        ))
    }

    /// A failure: schedule a restart with backoff, or go FATAL.
    fn failed(&mut self, pid: Option<i32>, reason: &str) -> Next {
        let now = Instant::now();
        self.state.last_reason = Some(reason.to_string());
        if self.p.restart == RestartPolicy::Never {
            self.log(
                Level::Error,
                &format!("{reason}; --restart never: the supervisor exits"),
            );
            self.save(Stage::Exited);
            return Next::Exit(1);
        }
        let (delay, nth) = match self.budget.failed(
            now,
            self.p.max_restarts,
            self.p.window,
            self.p.backoff_start,
        ) {
            Verdict::GiveUp { in_window } => {
                self.fatal(&format!(
                    "{reason}; {in_window} restarts within {} already (--max-restarts {}): giving up",
                    fmt_duration(self.p.window),
                    self.p.max_restarts
                ));
                return Next::Exit(1);
            }
            Verdict::Restart { delay, nth } => (delay, nth),
        };
        self.state.restarts_total += 1;
        let pid_note = pid.map(|p| format!("pid={p}, ")).unwrap_or_default();
        self.log(
            Level::Warn,
            &format!(
                "{reason}; restart {}/{} in {} {{{pid_note}delay_ms={}, restarts_total={}}}",
                nth,
                self.p.max_restarts,
                fmt_duration(delay),
                delay.as_millis(),
                self.state.restarts_total
            ),
        );
        self.state.backoff_seconds = Some(delay.as_secs_f64());
        self.state.next_restart_at = Some(files::iso(
            chrono::Utc::now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()),
        ));
        self.save(Stage::Backoff);
        Next::Go(Phase::Backoff(now + delay))
    }

    fn fatal(&mut self, msg: &str) {
        self.log(Level::Error, &format!("FATAL: {msg}"));
        self.state.last_reason = Some(msg.to_string());
        self.state.backoff_seconds = None;
        self.state.next_restart_at = None;
        self.save(Stage::Fatal);
    }

    fn backoff(&mut self, until: Instant) -> Next {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.log(
                Level::Info,
                &format!(
                    "restarting the worker {{restart={}}}",
                    self.state.restarts_total
                ),
            );
            return Next::Go(Phase::Starting);
        }
        match self.rx.recv_timeout(left) {
            Ok(Ev::Signal(sig)) => self.shutdown(sig, None),
            Ok(Ev::Exited { .. }) | Err(RecvTimeoutError::Timeout) => {
                Next::Go(Phase::Backoff(until))
            }
            Err(RecvTimeoutError::Disconnected) => Next::Exit(1),
        }
    }

    fn idle(&mut self) -> Next {
        match self.rx.recv_timeout(self.p.health_interval) {
            Ok(Ev::Signal(sig)) => self.shutdown(sig, None),
            Ok(Ev::Exited { .. }) => Next::Go(Phase::Idle),
            Err(RecvTimeoutError::Disconnected) => Next::Exit(1),
            Err(RecvTimeoutError::Timeout) => {
                let st = status::status(self.cfg, StatusOpts::default());
                match (st.state(), st.proven()) {
                    (State::Running | State::Unhealthy, Some(p)) => {
                        let (pid, port) = (p.pid, st.port);
                        self.log(
                            Level::Info,
                            &format!("the worker was started again: supervising it {{pid={pid}}}"),
                        );
                        Next::Go(self.adopt(pid, port, None))
                    }
                    _ => Next::Go(Phase::Idle),
                }
            }
        }
    }

    fn shutdown(&mut self, sig: Shutdown, w: Option<Worker>) -> Next {
        let name = sig.name();
        match &w {
            Some(w) => {
                self.log(
                    Level::Info,
                    &format!(
                        "received {name}: stopping the worker and the supervisor {{pid={}}}",
                        w.pid
                    ),
                );
                match control::stop(self.cfg, self.p.opts) {
                    Ok(_) => {}
                    Err(e) => self.log(Level::Error, &format!("cannot stop the worker: {e}")),
                }
                if w.ours {
                    // Let the waiter reap it before we go.
                    let deadline = Instant::now() + Duration::from_secs(5);
                    loop {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match self.rx.recv_timeout(left) {
                            Ok(Ev::Exited { pid, .. }) if pid == w.pid => break,
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    self.reap_group(w);
                }
            }
            None => self.log(
                Level::Info,
                &format!("received {name}: the supervisor exits"),
            ),
        }
        self.state.worker_pid = None;
        self.state.backoff_seconds = None;
        self.state.next_restart_at = None;
        self.save(Stage::Exited);
        Next::Exit(0)
    }
}
