//! A temporary data dir + free port + stand-in worker command, and the cleanup on Ctrl-C: stop
//! the workers we started, end the dashboards we spawned (both through the platform layer).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use claude_mem_top::platform::{self, Shutdown, StartToken, Stop};

#[cfg(unix)]
use crate::pty::Pty;
use crate::R;

#[derive(Clone)]
pub struct EnvSpec {
    bin: PathBuf,
    pub root: PathBuf,
    pub port: u16,
    worker: String,
}

static ENVS: Mutex<Vec<(u64, EnvSpec)>> = Mutex::new(Vec::new());
/// The dashboards we spawned and have not reaped, with their start tokens.
static DASHBOARDS: Mutex<Vec<(platform::Pid, StartToken)>> = Mutex::new(Vec::new());

/// The real releases' workers we spawned (release.rs) and have not reaped, with their tokens.
static RELEASES: Mutex<Vec<(platform::Pid, StartToken)>> = Mutex::new(Vec::new());

/// A release's worker we spawned and have not reaped: Ctrl-C sends it SIGTERM.
pub fn track_release(pid: u32) {
    let pid = pid as platform::Pid;
    if let (Some(token), Ok(mut r)) = (platform::start_token(pid), RELEASES.lock()) {
        r.push((pid, token));
    }
}

/// The release's worker `pid` has been reaped.
pub fn untrack_release(pid: u32) {
    if let Ok(mut r) = RELEASES.lock() {
        r.retain(|(p, _)| *p != pid as platform::Pid);
    }
}

/// A dashboard we spawned and have not reaped: Ctrl-C ends it.
#[cfg(unix)]
pub fn track_dashboard(pid: u32) {
    let pid = pid as platform::Pid;
    // Just spawned and not reaped, so it is there to read (a dashboard that died at once has
    // nothing to end).
    if let (Some(token), Ok(mut d)) = (platform::start_token(pid), DASHBOARDS.lock()) {
        d.push((pid, token));
    }
}

/// The dashboard `pid` has been reaped.
#[cfg(unix)]
pub fn untrack_dashboard(pid: u32) {
    if let Ok(mut d) = DASHBOARDS.lock() {
        d.retain(|(p, _)| *p != pid as platform::Pid);
    }
}

/// On SIGINT, SIGTERM or SIGHUP (Ctrl-C or a closed console on Windows): end the dashboards we
/// spawned, stop the workers we started (a real release's worker gets SIGTERM), remove their
/// data dirs and exit 128 + the signal.
pub fn install_cleanup() {
    let installed = platform::shutdown_signals(|s: Shutdown| {
        eprintln!("\nbench: interrupted; stopping the workers it started");
        if let Ok(d) = DASHBOARDS.lock() {
            for (pid, token) in d.iter() {
                // Only the process we spawned: the token is re-checked right before the signal.
                platform::signal_pid(*pid, *token, Stop::Graceful);
            }
        }
        if let Ok(r) = RELEASES.lock() {
            for (pid, token) in r.iter() {
                platform::signal_pid(*pid, *token, Stop::Graceful);
            }
        }
        let envs: Vec<EnvSpec> = ENVS
            .lock()
            .map(|e| e.iter().map(|(_, s)| s.clone()).collect())
            .unwrap_or_default();
        for e in envs {
            let _ = e.cmd(&["stop", "--grace", "2s"]).output();
            let _ = fs::remove_dir_all(&e.root);
        }
        std::process::exit(i32::from(s.exit_code()));
    });
    if let Err(e) = installed {
        eprintln!("bench: note: no cleanup on Ctrl-C ({e}): stop leftover workers by hand");
    }
}

impl EnvSpec {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let home = self.home();
        let bin = self.bin.to_string_lossy();
        let quoted = shlex::try_quote(&bin)
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| bin.to_string());
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("CLAUDE_MEM_DATA_DIR", self.data())
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .env(
                "CLAUDE_MEM_TOP_WORKER_CMD",
                format!("{quoted} stand-in-worker {}", self.worker),
            )
            // The user's ~/.pm2 and ~/.claude stay out of it.
            .env("HOME", &home)
            .env("PM2_HOME", home.join(".pm2"))
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("CLAUDE_MEM_TOP_PANIC_IN_DRAW")
            .stdin(Stdio::null());
        c
    }
}

pub struct Env {
    pub spec: EnvSpec,
    id: u64,
    _dir: tempfile::TempDir,
}

/// Ports the bench never uses: claude-mem's own (37777) and the range around it, where a real
/// worker of the user's may listen.
const RESERVED: std::ops::RangeInclusive<u16> = 37700..=37799;

/// A free loopback port (the OS's pick), never one in [`RESERVED`].
pub fn free_port() -> R<u16> {
    // Held until the loop ends, so the OS does not hand out the same reserved port again.
    let mut held = Vec::new();
    for _ in 0..64 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = l.local_addr().map_err(|e| format!("addr: {e}"))?.port();
        if !RESERVED.contains(&port) {
            return Ok(port);
        }
        held.push(l);
    }
    Err(format!("no free port outside {RESERVED:?}"))
}

/// Run `cmd` to completion with stdout/stderr captured; returns the wall time from just before
/// the spawn to the exit too.
pub fn timed_output(mut cmd: Command) -> std::io::Result<(Duration, Output)> {
    let t0 = Instant::now();
    let out = cmd.output()?;
    Ok((t0.elapsed(), out))
}

impl Env {
    /// A fresh data dir (with the PM2 marker, as after the one-time migration), an empty HOME and
    /// a free port. `worker` are the stand-in's switches.
    pub fn new(bin: &Path, worker: &str) -> R<Env> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let dir = tempfile::Builder::new()
            .prefix("claude-mem-top-bench.")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let root = dir.path().to_path_buf();
        for d in ["data", "data/logs", "home"] {
            fs::create_dir_all(root.join(d)).map_err(|e| format!("mkdir {d}: {e}"))?;
        }
        fs::write(
            root.join("data/.pm2-migrated"),
            chrono::Utc::now().to_rfc3339(),
        )
        .map_err(|e| format!("marker: {e}"))?;
        let spec = EnvSpec {
            bin: bin.to_path_buf(),
            root,
            port: free_port()?,
            worker: worker.to_string(),
        };
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = ENVS.lock() {
            e.push((id, spec.clone()));
        }
        Ok(Env {
            spec,
            id,
            _dir: dir,
        })
    }

    pub fn set_worker(&mut self, worker: &str) {
        self.spec.worker = worker.to_string();
        if let Ok(mut e) = ENVS.lock() {
            for (id, s) in e.iter_mut() {
                if *id == self.id {
                    s.worker = worker.to_string();
                }
            }
        }
    }

    pub fn data(&self) -> PathBuf {
        self.spec.data()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.spec.cmd(args)
    }

    /// Run to completion with stdout/stderr captured; returns the wall time too.
    pub fn run(&self, args: &[&str]) -> R<(Duration, Output)> {
        timed_output(self.cmd(args)).map_err(|e| format!("claude-mem-top {}: {e}", args.join(" ")))
    }

    /// [`Env::run`], an error unless it exits 0.
    pub fn run_ok(&self, args: &[&str]) -> R<Duration> {
        let (d, out) = self.run(args)?;
        if !out.status.success() {
            return Err(failed(args, &out));
        }
        Ok(d)
    }

    /// `start` (the worker healthy when it returns); its wall time.
    pub fn start(&self) -> R<Duration> {
        self.run_ok(&["start", "--timeout", "10s"])
    }

    /// `stop` (the worker gone when it returns); its wall time.
    pub fn stop(&self) -> R<Duration> {
        self.run_ok(&["stop", "--grace", "5s"])
    }

    pub fn worker_pid(&self) -> Option<i32> {
        fs::read_to_string(self.data().join(".worker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The worker's log (spec layout: `logs/worker-<UTC date>.log`, the newest by name).
    pub fn worker_log(&self) -> Option<PathBuf> {
        let mut logs: Vec<PathBuf> = fs::read_dir(self.data().join("logs"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("worker-") && n.ends_with(".log"))
            })
            .collect();
        logs.sort();
        logs.pop()
    }

    /// [`Env::worker_pid`] of a worker that must be running.
    #[cfg(unix)] // rows 5–8 only
    pub fn pid(&self) -> R<i32> {
        self.worker_pid().ok_or_else(|| "no worker PID".into())
    }

    /// [`Env::worker_log`] of a worker that must have logged.
    #[cfg(unix)] // rows 5–8 only
    pub fn log(&self) -> R<PathBuf> {
        self.worker_log().ok_or_else(|| "no worker log".into())
    }

    /// Start the dashboard (`--interval 1s`) on `pty`; returns the instant just before the spawn.
    #[cfg(unix)]
    pub fn dashboard(&self, pty: &mut Pty) -> R<Instant> {
        pty.spawn(self.cmd(&["--interval", "1s"]))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.worker_pid().is_some() {
            match self.run(&["stop", "--grace", "2s"]) {
                Ok((_, out)) if out.status.success() => {}
                Ok((_, out)) => eprintln!("bench: {}", failed(&["stop"], &out)),
                Err(e) => eprintln!("bench: {e}"),
            }
        }
        if let Ok(mut e) = ENVS.lock() {
            e.retain(|(id, _)| *id != self.id);
        }
    }
}

pub fn failed(args: &[&str], out: &Output) -> String {
    format!(
        "`claude-mem-top {}` exited {}: {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}
