//! Helpers for the doctor / supervise / metrics / completions tests: the real binary, a temp HOME
//! and data dir, a free port, the stand-in worker, bounded waits. Never `~/.claude-mem`, never
//! port 37777, never a signal to a process the test did not start.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_claude-mem-top");
/// The pause between two looks at a condition.
pub const POLL: Duration = Duration::from_millis(20);
/// The longest any single wait may take.
pub const LIMIT: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let p = l.local_addr().expect("local addr").port();
        if p != 37777 {
            return p;
        }
    }
}

/// Wait until `cond` holds, at most [`LIMIT`].
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// `/proc/PID/stat`: (state, ppid).
pub fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(s, _)| !matches!(s, 'Z' | 'X' | 'x'))
}

pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Live processes whose command line contains `needle`.
pub fn live_with(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|p| alive(*p) && cmdline(*p).contains(needle))
                .collect()
        })
        .unwrap_or_default()
}

/// Signal a process this test started.
pub fn signal(pid: i32, sig: libc::c_int) {
    assert!(pid > 1, "refusing to signal PID {pid}");
    // SAFETY: plain syscall with pid > 1; callers pass only children of the test.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// A temp HOME with a data dir inside, a free port and a worker command.
pub struct Env {
    pub home: tempfile::TempDir,
    pub port: u16,
    /// `None`: the claude-mem default (`bun ~/.claude/…/worker-service.cjs`) under the temp HOME.
    pub worker: Option<String>,
}

impl Env {
    /// The stand-in worker with extra arguments; its command line carries a unique marker.
    pub fn stand_in(extra: &str) -> Env {
        let port = free_port();
        Env {
            home: tempfile::tempdir().expect("tempdir"),
            port,
            worker: Some(format!(
                "{BIN} stand-in-worker --log-rate 2 --version test-{port} {extra}"
            )),
        }
    }

    /// The default worker command (its script is missing under the temp HOME).
    pub fn default_worker() -> Env {
        Env {
            home: tempfile::tempdir().expect("tempdir"),
            port: free_port(),
            worker: None,
        }
    }

    /// The unique marker in the stand-in's command line.
    pub fn marker(&self) -> String {
        format!("test-{}", self.port)
    }

    pub fn data(&self) -> PathBuf {
        self.home.path().join("data")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HOME", self.home.path())
            .env("CLAUDE_MEM_DATA_DIR", self.data())
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .env("PATH", "/usr/bin:/bin")
            .env_remove("PM2_HOME")
            .env_remove("CLAUDE_MEM_TOP_SUPERVISE_BACKOFF")
            .env_remove("NO_COLOR");
        match &self.worker {
            Some(w) => c.env("CLAUDE_MEM_TOP_WORKER_CMD", w),
            None => c.env_remove("CLAUDE_MEM_TOP_WORKER_CMD"),
        };
        c
    }

    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run the binary")
    }

    /// Today's dated worker log.
    pub fn log(&self) -> PathBuf {
        let date = chrono::Utc::now().format("%Y-%m-%d");
        self.data().join(format!("logs/worker-{date}.log"))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.data().join(".worker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn supervise_state(&self) -> serde_json::Value {
        std::fs::read_to_string(self.data().join(".claude-mem-top.supervise.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Stop only the worker this test started, through the identity-checked core.
        if self.worker.is_some() && self.data().is_dir() {
            let _ = self.cmd(&["stop", "--grace", "1s"]).output();
        }
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Set a file's mtime `secs` seconds in the past ("written earlier").
pub fn age(path: &Path, secs: u64) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open to age");
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(secs))
        .expect("set mtime");
}
