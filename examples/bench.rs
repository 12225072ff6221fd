//! The benchmark harness of issue 5: prints the README's Performance table.
//!
//! ```text
//! cargo run --release --example bench               # the full run (about three minutes)
//! cargo run --release --example bench -- --smoke    # seconds, tiny counts, no verdicts (CI)
//! cargo run --release --example bench -- --rows 1,7 # only some rows
//! ```
//!
//! What it measures is the release build of `claude-mem-top` next to this example
//! (`target/release/claude-mem-top`); when that binary is missing or older than the sources it
//! runs `cargo build --release --bin claude-mem-top` first. Every figure comes from the real
//! binary on a temporary data dir and a free loopback port, with the built-in stand-in worker as
//! the process under management; the dashboard runs in a real pseudo-terminal read by a vt100
//! parser. Runs of different commands are interleaved. Every worker started here is stopped with
//! `claude-mem-top stop`; the only processes signalled directly are the dashboards spawned here.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type R<T> = Result<T, String>;

// ---------------------------------------------------------------------------------------------
// Options and the binary under test
// ---------------------------------------------------------------------------------------------

struct Opts {
    smoke: bool,
    rows: Option<Vec<u32>>,
    build: bool,
    bin: PathBuf,
}

impl Opts {
    fn wants(&self, row: u32) -> bool {
        self.rows.as_ref().is_none_or(|r| r.contains(&row))
    }
    /// `full` in a full run, `smoke` in a smoke run.
    fn pick<T>(&self, full: T, smoke: T) -> T {
        if self.smoke {
            smoke
        } else {
            full
        }
    }
}

const USAGE: &str =
    "usage: cargo run --release --example bench -- [--smoke] [--rows 1,2,..] [--no-build]

  --smoke      a few seconds: tiny iteration counts, no timing judgement (for CI)
  --rows LIST  only these rows (1-9), comma-separated
  --no-build   do not rebuild target/release/claude-mem-top when it is older than the sources";

fn parse_args() -> R<Opts> {
    let mut smoke = false;
    let mut rows = None;
    let mut build = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--smoke" => smoke = true,
            "--no-build" => build = false,
            "--rows" => {
                let v = args.next().ok_or("--rows needs a list, e.g. 1,2,7")?;
                let list = v
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<u32>()
                            .map_err(|_| format!("bad row {s:?}"))
                    })
                    .collect::<R<Vec<u32>>>()?;
                rows = Some(list);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Opts {
        smoke,
        rows,
        build,
        bin: PathBuf::new(),
    })
}

/// `…/target` (from this example's own path: `…/target/<profile>/examples/bench`).
fn target_dir() -> R<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let examples = exe.parent().ok_or("bench has no parent dir")?;
    let profile = examples
        .parent()
        .ok_or("bench is not in target/<profile>")?;
    if profile.file_name().and_then(|n| n.to_str()) != Some("release") {
        eprintln!("bench: note: the harness itself is not a release build (run it with --release); the binary under test is still the release build");
    }
    Ok(profile
        .parent()
        .ok_or("bench is not in target/<profile>/examples")?
        .to_path_buf())
}

fn newest_mtime(path: &Path, newest: &mut SystemTime) {
    let Ok(meta) = fs::metadata(path) else { return };
    if meta.is_dir() {
        if let Ok(rd) = fs::read_dir(path) {
            for e in rd.flatten() {
                newest_mtime(&e.path(), newest);
            }
        }
    } else if let Ok(m) = meta.modified() {
        *newest = (*newest).max(m);
    }
}

/// The release binary, built first when missing or older than the sources.
fn release_binary(build: bool) -> R<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir()?;
    let bin = target.join("release").join("claude-mem-top");
    let mut newest = UNIX_EPOCH;
    for p in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        newest_mtime(&root.join(p), &mut newest);
    }
    let built = fs::metadata(&bin).and_then(|m| m.modified()).ok();
    if build && built.is_none_or(|b| b < newest) {
        eprintln!(
            "bench: {} is {}; building it",
            bin.display(),
            if built.is_some() {
                "older than the sources"
            } else {
                "missing"
            }
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--bin",
                "claude-mem-top",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !st.success() {
            return Err(format!("cargo build --release failed ({st})"));
        }
    }
    if !bin.is_file() {
        return Err(format!(
            "{} not found: run `cargo build --release` first",
            bin.display()
        ));
    }
    Ok(bin)
}

// ---------------------------------------------------------------------------------------------
// Cleanup on Ctrl-C: stop the workers we started, end the dashboards we spawned.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct EnvSpec {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    worker: String,
}

static ENVS: Mutex<Vec<(u64, EnvSpec)>> = Mutex::new(Vec::new());
static DASHBOARDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn install_cleanup() {
    let Ok(mut signals) =
        signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP])
    else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            eprintln!("\nbench: interrupted; stopping the workers it started");
            if let Ok(d) = DASHBOARDS.lock() {
                for pid in d.iter() {
                    // Our own unreaped children: the PID cannot have been reused.
                    // SAFETY: plain syscall on a PID we spawned and have not reaped.
                    unsafe { libc::kill(*pid, libc::SIGTERM) };
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
            std::process::exit(128 + sig);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// A temporary data dir + free port + stand-in worker command
// ---------------------------------------------------------------------------------------------

impl EnvSpec {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let home = self.root.join("home");
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

struct Env {
    spec: EnvSpec,
    id: u64,
    _dir: tempfile::TempDir,
}

fn free_port() -> R<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = l.local_addr().map_err(|e| format!("addr: {e}"))?.port();
    Ok(port)
}

impl Env {
    /// A fresh data dir (with the PM2 marker, as after the one-time migration), an empty HOME and
    /// a free port. `worker` are the stand-in's switches.
    fn new(bin: &Path, worker: &str) -> R<Env> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
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
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut e) = ENVS.lock() {
            e.push((id, spec.clone()));
        }
        Ok(Env {
            spec,
            id,
            _dir: dir,
        })
    }

    fn set_worker(&mut self, worker: &str) {
        self.spec.worker = worker.to_string();
        if let Ok(mut e) = ENVS.lock() {
            for (id, s) in e.iter_mut() {
                if *id == self.id {
                    s.worker = worker.to_string();
                }
            }
        }
    }

    fn data(&self) -> PathBuf {
        self.spec.data()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        self.spec.cmd(args)
    }

    /// Run to completion with stdout/stderr captured; returns the wall time too.
    fn run(&self, args: &[&str]) -> R<(Duration, Output)> {
        let mut c = self.cmd(args);
        let t0 = Instant::now();
        let out = c
            .output()
            .map_err(|e| format!("claude-mem-top {}: {e}", args.join(" ")))?;
        Ok((t0.elapsed(), out))
    }

    fn run_ok(&self, args: &[&str]) -> R<Duration> {
        let (d, out) = self.run(args)?;
        if !out.status.success() {
            return Err(failed(args, &out));
        }
        Ok(d)
    }

    fn start(&self) -> R<()> {
        self.run_ok(&["start", "--timeout", "10s"]).map(|_| ())
    }

    fn worker_pid(&self) -> Option<i32> {
        fs::read_to_string(self.data().join(".worker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The worker's log (spec layout: `logs/worker-<UTC date>.log`, the newest by name).
    fn worker_log(&self) -> Option<PathBuf> {
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

    fn dashboard(&self, pty: &mut Pty) -> R<Instant> {
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

fn failed(args: &[&str], out: &Output) -> String {
    format!(
        "`claude-mem-top {}` exited {}: {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

// ---------------------------------------------------------------------------------------------
// A real pseudo-terminal read into a vt100 screen; waiters are checked on every chunk read, so a
// "visible on screen" time is the moment the bytes arrived, not the next poll.
// ---------------------------------------------------------------------------------------------

type Pred = Box<dyn Fn(&str) -> bool + Send>;

struct Screen {
    parser: vt100::Parser,
    waiters: Vec<(Pred, Sender<Instant>)>,
}

struct Pty {
    master: File,
    slave: Option<OwnedFd>,
    screen: Arc<Mutex<Screen>>,
    child: Option<Child>,
}

impl Pty {
    fn open(cols: u16, rows: u16) -> R<Pty> {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two fds; the pointers are valid for the call.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        if r != 0 {
            return Err(format!("openpty: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: fresh fds from openpty that nobody else owns.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let nz = |v: u16| std::num::NonZeroU16::new(v).ok_or("zero terminal size");
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(nz(rows)?, nz(cols)?, 0),
            waiters: Vec::new(),
        }));
        let mut reader = master.try_clone().map_err(|e| format!("dup: {e}"))?;
        let mut answer = master.try_clone().map_err(|e| format!("dup: {e}"))?;
        let sc = screen.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let now = Instant::now();
                let Ok(mut s) = sc.lock() else { return };
                s.parser.process(&buf[..n]);
                // Answer the cursor-position query ratatui sends at startup, like a terminal.
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let (row, col) = s.parser.screen().cursor_position();
                    let _ = write!(answer, "\x1b[{};{}R", row + 1, col + 1);
                    let _ = answer.flush();
                }
                if !s.waiters.is_empty() {
                    let text = s.parser.screen().contents();
                    s.waiters.retain(|(pred, tx)| {
                        if pred(&text) {
                            let _ = tx.send(now);
                            false
                        } else {
                            true
                        }
                    });
                }
            }
        });
        Ok(Pty {
            master,
            slave: Some(slave),
            screen,
            child: None,
        })
    }

    /// Start `cmd` on the terminal's slave side; returns the instant just before the spawn.
    fn spawn(&mut self, mut cmd: Command) -> R<Instant> {
        let slave = self.slave.take().ok_or("pty already used")?;
        let dup = |f: &OwnedFd| f.try_clone().map_err(|e| format!("dup: {e}"));
        cmd.stdin(Stdio::from(dup(&slave)?))
            .stdout(Stdio::from(dup(&slave)?))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let t0 = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("spawn dashboard: {e}"))?;
        if let Ok(mut d) = DASHBOARDS.lock() {
            d.push(child.id() as i32);
        }
        self.child = Some(child);
        Ok(t0)
    }

    fn pid(&self) -> R<i32> {
        self.child
            .as_ref()
            .map(|c| c.id() as i32)
            .ok_or_else(|| "no dashboard".to_string())
    }

    /// Be told (with the arrival time of the bytes) when the screen satisfies `pred`.
    fn arm(&self, pred: impl Fn(&str) -> bool + Send + 'static) -> Receiver<Instant> {
        let (tx, rx) = channel();
        if let Ok(mut s) = self.screen.lock() {
            if pred(&s.parser.screen().contents()) {
                let _ = tx.send(Instant::now());
            } else {
                s.waiters.push((Box::new(pred), tx));
            }
        }
        rx
    }

    fn wait(&self, rx: &Receiver<Instant>, what: &str, timeout: Duration) -> R<Instant> {
        rx.recv_timeout(timeout).map_err(|_| {
            format!(
                "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                self.contents()
            )
        })
    }

    fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool + Send + 'static,
    ) -> R<Instant> {
        let rx = self.arm(pred);
        self.wait(&rx, what, timeout)
    }

    fn contents(&self) -> String {
        self.screen
            .lock()
            .map(|s| s.parser.screen().contents())
            .unwrap_or_default()
    }

    /// `q`, then wait for the exit; SIGKILL (our own child) if it does not exit in 5 s.
    fn quit(&mut self) -> R<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = self.master.write_all(b"q");
        let _ = self.master.flush();
        let t0 = Instant::now();
        let res = loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => break Ok(()),
                Ok(Some(st)) => break Err(format!("dashboard exited {st}")),
                Ok(None) if t0.elapsed() > Duration::from_secs(5) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err("dashboard did not quit on q within 5 s".to_string());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => break Err(format!("wait: {e}")),
            }
        };
        if let Ok(mut d) = DASHBOARDS.lock() {
            d.retain(|p| *p != child.id() as i32);
        }
        res
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            if let Ok(mut d) = DASHBOARDS.lock() {
                d.retain(|p| *p != c.id() as i32);
            }
        }
    }
}

fn header_has(label: &'static str) -> impl Fn(&str) -> bool + Send + 'static {
    move |s: &str| s.lines().next().is_some_and(|h| h.contains(label))
}

// ---------------------------------------------------------------------------------------------
// /proc readings and small helpers
// ---------------------------------------------------------------------------------------------

/// CPU time of all threads of `pid` in nanoseconds (schedstat: ns precision).
fn cpu_ns(pid: i32) -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    for e in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        if let Ok(t) = fs::read_to_string(e.path().join("schedstat")) {
            if let Some(v) = t
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
            {
                total += v;
                any = true;
            }
        }
    }
    any.then_some(total)
}

/// CPU nanoseconds per thread, keyed by thread id, with the thread's name.
fn thread_cpu(pid: i32) -> std::collections::HashMap<u32, (String, u64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(rd) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in rd.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let ns = fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        out.insert(tid, (comm.trim().to_string(), ns));
    }
    out
}

/// "main 0.20 %, health 0.10 %, …": where the CPU went between two snapshots, by thread name.
fn by_thread(
    a: &std::collections::HashMap<u32, (String, u64)>,
    b: &std::collections::HashMap<u32, (String, u64)>,
    wall_ns: f64,
) -> String {
    let mut sums: Vec<(String, u64)> = Vec::new();
    for (tid, (name, ns)) in b {
        let before = a.get(tid).map_or(0, |x| x.1);
        let d = ns.saturating_sub(before);
        match sums.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 += d,
            None => sums.push((name.clone(), d)),
        }
    }
    sums.sort_by_key(|x| std::cmp::Reverse(x.1));
    sums.iter()
        .filter(|(_, d)| *d > 0)
        .take(6)
        .map(|(n, d)| format!("{n} {:.3} %", *d as f64 / wall_ns * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Context switches (voluntary + involuntary) of all threads: how often the process woke.
fn wakeups(pid: i32) -> u64 {
    let Ok(rd) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    rd.flatten()
        .filter_map(|e| fs::read_to_string(e.path().join("status")).ok())
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// Resident set size in bytes (VmRSS).
fn rss(pid: i32) -> Option<u64> {
    let t = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = t
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// A tiny xorshift for jitter (phases must not lock onto the dashboard's 1 s clock).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9)
            | 1;
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Bytes of a file from `from` to its end, as text.
fn read_from(path: &Path, from: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn file_len(path: Option<&PathBuf>) -> u64 {
    path.and_then(|p| fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

/// The wall time of a stand-in log line: `[YYYY-MM-DD HH:MM:SS.mmm]`, local time, whole ms.
fn line_time(line: &str) -> Option<SystemTime> {
    let ts = line.strip_prefix('[')?.get(..23)?;
    let naive = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.3f").ok()?;
    let local = naive.and_local_timezone(chrono::Local).single()?;
    let ms = u64::try_from(local.timestamp_millis()).ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

fn since(later: SystemTime, earlier: SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(d) => ms(d),
        Err(e) => -ms(e.duration()),
    }
}

/// The largest `seq=N` in a text (the stand-in stamps every 12th log line with its count).
fn max_seq(text: &str) -> Option<u64> {
    text.match_indices("seq=")
        .filter_map(|(i, _)| {
            let digits: String = text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.parse().ok()
        })
        .max()
}

/// The last `seq=N` of a log file (reading only its last 256 KiB).
fn file_seq(path: &Path) -> Option<u64> {
    let len = fs::metadata(path).ok()?.len();
    max_seq(&read_from(path, len.saturating_sub(256 * 1024)))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    Info,
}

struct Row {
    id: &'static str,
    figure: String,
    unit: &'static str,
    samples: Vec<f64>,
    target: Target,
    /// Judge on this instead of the median (e.g. a 60 s mean, a peak).
    judged: Option<(f64, &'static str)>,
    /// Shown instead of numbers.
    text: Option<String>,
}

impl Row {
    fn new(id: &'static str, figure: impl Into<String>, unit: &'static str, target: Target) -> Row {
        Row {
            id,
            figure: figure.into(),
            unit,
            samples: Vec::new(),
            target,
            judged: None,
            text: None,
        }
    }
    fn with(mut self, samples: Vec<f64>) -> Row {
        self.samples = samples;
        self
    }
    fn judged_on(mut self, v: f64, what: &'static str) -> Row {
        self.judged = Some((v, what));
        self
    }
    fn text(id: &'static str, figure: impl Into<String>, text: impl Into<String>) -> Row {
        let mut r = Row::new(id, figure, "", Target::Info);
        r.text = Some(text.into());
        r
    }
}

fn summary(v: &[f64]) -> Option<(f64, f64, f64)> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some((med, s[0], s[n - 1]))
}

fn num(v: f64, unit: &str) -> String {
    let digits = match unit {
        "%" => 2,
        "ms" if v.abs() < 100.0 => 2,
        _ if v.abs() < 10.0 => 2,
        _ => 1,
    };
    format!("{v:.digits$}")
}

fn target_text(t: Target, unit: &str) -> String {
    let u = match unit {
        "×" => "×".to_string(),
        "%" => "%".to_string(),
        u => format!(" {u}"),
    };
    match t {
        Target::AtMost(x) => format!("≤ {}{u}", num(x, unit)),
        Target::AtLeast(x) => format!("≥ {}{u}", num(x, unit)),
        Target::Info => "—".into(),
    }
}

fn verdict(r: &Row, smoke: bool) -> String {
    if smoke {
        return "smoke".into();
    }
    let v = match (r.judged, summary(&r.samples)) {
        (Some((v, _)), _) => v,
        (None, Some((med, _, _))) => med,
        (None, None) => return "n/a".into(),
    };
    match r.target {
        Target::AtMost(x) if v <= x => "ok".into(),
        Target::AtLeast(x) if v >= x => "ok".into(),
        Target::Info => "—".into(),
        _ => "MISS".into(),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

fn lpad(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

fn print_table(rows: &[Row], smoke: bool) {
    let head = [
        "#", "figure", "unit", "median", "min", "max", "n", "target", "verdict",
    ];
    let mut cells: Vec<[String; 9]> = Vec::new();
    for r in rows {
        let (med, min, max, n) = match (&r.text, summary(&r.samples)) {
            (Some(t), _) => (t.clone(), String::new(), String::new(), String::new()),
            (None, Some((a, b, c))) => (
                num(a, r.unit),
                num(b, r.unit),
                num(c, r.unit),
                r.samples.len().to_string(),
            ),
            (None, None) => ("—".into(), "—".into(), "—".into(), "0".into()),
        };
        let mut target = target_text(r.target, r.unit);
        if let Some((_, what)) = r.judged {
            if !matches!(r.target, Target::Info) {
                target = format!("{target} ({what})");
            }
        }
        cells.push([
            r.id.to_string(),
            r.figure.clone(),
            r.unit.to_string(),
            med,
            min,
            max,
            n,
            target,
            if r.text.is_some() {
                String::new()
            } else {
                verdict(r, smoke)
            },
        ]);
    }
    let mut w = head.map(width);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            // A text row's message spans the numeric columns.
            if !(i == 3 && c[4].is_empty() && c[6].is_empty()) {
                w[i] = w[i].max(width(s));
            }
        }
    }
    let line = |c: &[String; 9]| {
        let mut s = String::new();
        let _ = write!(
            s,
            "| {} | {} | {} ",
            pad(&c[0], w[0]),
            pad(&c[1], w[1]),
            pad(&c[2], w[2])
        );
        if c[4].is_empty() && c[6].is_empty() && !c[3].is_empty() && c[3] != "median" {
            let span = w[3] + w[4] + w[5] + w[6] + 9;
            let _ = write!(s, "| {} ", pad(&c[3], span));
        } else {
            let _ = write!(
                s,
                "| {} | {} | {} | {} ",
                lpad(&c[3], w[3]),
                lpad(&c[4], w[4]),
                lpad(&c[5], w[5]),
                lpad(&c[6], w[6])
            );
        }
        let _ = write!(s, "| {} | {} |", pad(&c[7], w[7]), pad(&c[8], w[8]));
        s
    };
    println!("{}", line(&head.map(String::from)));
    let sep: Vec<String> = w.iter().map(|n| "-".repeat(*n)).collect();
    println!(
        "|-{}-|-{}-|-{}-|-{}:|-{}:|-{}:|-{}:|-{}-|-{}-|",
        sep[0], sep[1], sep[2], sep[3], sep[4], sep[5], sep[6], sep[7], sep[8]
    );
    for c in &cells {
        println!("{}", line(c));
    }
}

fn machine_line() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(std::thread::available_parallelism().map_or(0, |n| n.get()));
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .map(|kb| format!(", {:.1} GiB RAM", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    format!(
        "machine: {cores} cores, {model}{mem}, Linux {kernel}, {date}, claude-mem-top {}{}",
        env!("CARGO_PKG_VERSION"),
        git_rev().map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

fn git_rev() -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("git")
        .args(["-C", root, "rev-parse", "--short", "HEAD"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || rev.is_empty() {
        return None;
    }
    let dirty = Command::new("git")
        .args(["-C", root, "status", "--porcelain", "--untracked-files=no"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{rev}+changes") } else { rev })
}

// ---------------------------------------------------------------------------------------------
// Rows 1 and 2: `--once` (text, json) and `ensure`, interleaved, on a healthy worker
// ---------------------------------------------------------------------------------------------

fn rows_cli(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let env = Env::new(&o.bin, "")?;
    env.start()?;
    let variants: [(&[&str], u8); 3] = [
        (&["--once"], 0),
        (&["--once", "--json"], 0),
        (&["ensure"], 0),
    ];
    let mut times: [Vec<f64>; 3] = Default::default();
    // Warm-up: the binary in the page cache, as for a hook that runs on every event.
    for (args, _) in &variants {
        env.run(args)?;
    }
    let n = o.pick(60, 3);
    for i in 0..n {
        for k in 0..variants.len() {
            let v = (i + k) % variants.len();
            let (args, want) = variants[v];
            let (d, out) = env.run(args)?;
            if out.status.code() != Some(i32::from(want)) {
                return Err(failed(args, &out));
            }
            times[v].push(ms(d));
        }
    }
    notes.push(format!(
        "1–2: {n} runs of each command, round-robin with a rotating first; wall time from spawn to exit (stdout piped), healthy stand-in worker"
    ));
    let [t_text, t_json, t_ensure] = times;
    Ok(vec![
        Row::new(
            "1",
            "`--once` (text), healthy worker",
            "ms",
            Target::AtMost(5.0),
        )
        .with(t_text),
        Row::new(
            "1",
            "`--once --json`, healthy worker",
            "ms",
            Target::AtMost(5.0),
        )
        .with(t_json),
        Row::new(
            "2",
            "`ensure`, worker already healthy",
            "ms",
            Target::AtMost(5.0),
        )
        .with(t_ensure),
    ])
}

// ---------------------------------------------------------------------------------------------
// Rows 3 and 4: start → healthy, SIGTERM → stop returns (alternating cycles)
// ---------------------------------------------------------------------------------------------

fn find_line<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().rfind(|l| l.contains(needle))
}

fn rows_start_stop(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let mut env = Env::new(&o.bin, "--log-rate 0")?;
    let mut rng = Rng::new();
    let (mut listen, mut start_wall, mut exit, mut stop_wall, mut slow) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let n = o.pick(20, 2);
    for _ in 0..n {
        // A different slow start each cycle, so the worker's listen time falls at every phase of
        // `start`'s retry schedule.
        let s = 150 + rng.below(150);
        slow.push(s as f64);
        env.set_worker(&format!("--log-rate 0 --slow-start {s}"));

        let before = file_len(env.worker_log().as_ref());
        let (d, out) = env.run(&["start", "--timeout", "10s"])?;
        let returned = SystemTime::now();
        if !out.status.success() {
            return Err(failed(&["start"], &out));
        }
        let pid = env.worker_pid().ok_or("start left no .worker.pid")?;
        let log = env.worker_log().ok_or("the worker wrote no log")?;
        let text = read_from(&log, before);
        let line = find_line(
            &text,
            &format!(
                "HTTP server started {{host=127.0.0.1, port={}, pid={pid}}}",
                env.spec.port
            ),
        )
        .ok_or_else(|| {
            format!(
                "no 'HTTP server started' line for PID {pid} in {}",
                log.display()
            )
        })?;
        let t = line_time(line).ok_or_else(|| format!("no timestamp in {line:?}"))?;
        listen.push(since(returned, t));
        start_wall.push(ms(d));

        std::thread::sleep(Duration::from_millis(50 + rng.below(100)));

        let before = file_len(Some(&log));
        let (d, out) = env.run(&["stop", "--grace", "5s"])?;
        let returned = SystemTime::now();
        if !out.status.success() {
            return Err(failed(&["stop"], &out));
        }
        let text = read_from(&log, before);
        let line = find_line(&text, "Worker shutdown complete")
            .ok_or_else(|| format!("no 'Worker shutdown complete' line in {}", log.display()))?;
        let t = line_time(line).ok_or_else(|| format!("no timestamp in {line:?}"))?;
        exit.push(since(returned, t));
        stop_wall.push(ms(d));
    }
    let sw = summary(&start_wall).map_or(0.0, |s| s.0);
    let stw = summary(&stop_wall).map_or(0.0, |s| s.0);
    notes.push(format!(
        "3: {n} start/stop cycles; stand-in --slow-start 150–300 ms (random per cycle); figure = `start` exits − the worker's \"HTTP server started\" log line (logged right after bind; ms timestamps, so up to +1 ms). `start` wall time, median: {sw:.1} ms"
    ));
    notes.push(format!(
        "4: figure = `stop` exits − the worker's \"Worker shutdown complete\" line (logged just before it exits on SIGTERM). `stop` wall time incl. process start and the SIGTERM, median: {stw:.1} ms"
    ));
    Ok(vec![
        Row::new(
            "3",
            "worker listening → `start` reports healthy",
            "ms",
            Target::AtMost(20.0),
        )
        .with(listen),
        Row::new(
            "4",
            "worker exits on SIGTERM → `stop` returns",
            "ms",
            Target::AtMost(10.0),
        )
        .with(exit),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 5: the idle dashboard
// ---------------------------------------------------------------------------------------------

struct Sampled {
    cpu: Vec<f64>,
    rss: Vec<f64>,
    mean_cpu: f64,
    wakeups_per_s: f64,
    threads: String,
}

/// Sample the CPU (% of one core, per `step`) and RSS of `pid` for `total`.
fn sample(pid: i32, total: Duration, step: Duration) -> R<Sampled> {
    let t0 = Instant::now();
    let c0 = cpu_ns(pid).ok_or("cannot read the dashboard's CPU time")?;
    let w0 = wakeups(pid);
    let th0 = thread_cpu(pid);
    let (mut prev_t, mut prev_c) = (t0, c0);
    let (mut cpu, mut rss_v) = (Vec::new(), Vec::new());
    let mut k = 1u32;
    while t0.elapsed() < total {
        let due = t0 + step * k;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        k += 1;
        let now = Instant::now();
        let c = cpu_ns(pid).ok_or("the dashboard exited")?;
        cpu.push((c - prev_c) as f64 / now.duration_since(prev_t).as_nanos() as f64 * 100.0);
        rss_v.push(mb(rss(pid).unwrap_or(0)));
        (prev_t, prev_c) = (now, c);
    }
    let wall = prev_t.duration_since(t0).as_nanos() as f64;
    Ok(Sampled {
        cpu,
        rss: rss_v,
        mean_cpu: (prev_c - c0) as f64 / wall * 100.0,
        wakeups_per_s: (wakeups(pid) - w0) as f64 / (wall / 1e9),
        threads: by_thread(&th0, &thread_cpu(pid), wall),
    })
}

fn idle_run(o: &Opts, worker: &str, secs: u64) -> R<Sampled> {
    let env = Env::new(&o.bin, worker)?;
    env.start()?;
    let mut pty = Pty::open(120, 40)?;
    env.dashboard(&mut pty)?;
    let pid = env.worker_pid().ok_or("no worker PID")?;
    pty.wait_for("RUNNING", Duration::from_secs(10), move |s| {
        header_has("RUNNING")(s) && s.contains(&format!("PID {pid}"))
    })?;
    std::thread::sleep(o.pick(Duration::from_secs(3), Duration::from_millis(500)));
    let s = sample(
        pty.pid()?,
        Duration::from_secs(secs),
        Duration::from_secs(1),
    )?;
    pty.quit()?;
    Ok(s)
}

fn rows_idle(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let secs = o.pick(60, 3);
    let quiet = idle_run(o, "--log-rate 0", secs)?;
    let chatty_secs = o.pick(30, 2);
    let chatty = idle_run(o, "--log-rate 2", chatty_secs)?;
    let peak = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    notes.push(format!(
        "5: 120×40 pty, --interval 1s, CPU of all dashboard threads from /proc/PID/task/*/schedstat, sampled each second for {secs} s after a settle; judged on the {secs} s mean ({:.3} %) and the RSS peak ({:.1} MB). Wake-ups: {:.1}/s; by thread: {}. With a worker logging 2 lines/s ({chatty_secs} s): mean {:.3} %, RSS peak {:.1} MB, {:.1} wake-ups/s",
        quiet.mean_cpu,
        peak(&quiet.rss),
        quiet.wakeups_per_s,
        quiet.threads,
        chatty.mean_cpu,
        peak(&chatty.rss),
        chatty.wakeups_per_s
    ));
    Ok(vec![
        Row::new(
            "5",
            format!("dashboard idle: CPU over {secs} s (quiet worker)"),
            "%",
            Target::AtMost(0.3),
        )
        .with(quiet.cpu.clone())
        .judged_on(quiet.mean_cpu, "mean"),
        Row::new("5", "dashboard idle: RSS", "MB", Target::AtMost(20.0))
            .with(quiet.rss.clone())
            .judged_on(peak(&quiet.rss), "peak"),
        Row::new(
            "5",
            format!("dashboard idle: CPU over {chatty_secs} s (worker logs 2 lines/s)"),
            "%",
            Target::Info,
        )
        .with(chatty.cpu)
        .judged_on(chatty.mean_cpu, "mean"),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 6: opening on a 1 GiB log
// ---------------------------------------------------------------------------------------------

const GIB: u64 = 1 << 30;

/// A dated log of `size` bytes whose last `real` bytes are log lines (the rest is a hole: sparse,
/// no disk used), ending in a line with `marker`. Flushed and dropped from the page cache, so
/// the dashboard reads it cold.
fn write_log(path: &Path, size: u64, real: u64, marker: &str) -> R<()> {
    let mut text = String::with_capacity(real as usize + 256);
    let stamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
    let mut i = 0u64;
    let last = format!("[{stamp}] [INFO ] [BENCH ] last line of the log {marker}\n");
    while (text.len() + last.len()) as u64 + 120 < real {
        let _ = writeln!(
            text,
            "[{stamp}] [INFO ] [HTTP  ] GET /api/stats 200 {{ms=2}} filler line {i} of the benchmark log"
        );
        i += 1;
    }
    text.push_str(&last);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("create {}: {e}", path.display()))?;
    let start = size.saturating_sub(text.len() as u64);
    if start > 0 {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| format!("seek: {e}"))?;
    }
    f.write_all(text.as_bytes())
        .map_err(|e| format!("write log: {e}"))?;
    f.sync_data().map_err(|e| format!("sync: {e}"))?;
    // SAFETY: plain syscall on an fd we own.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    Ok(())
}

fn open_on_log(o: &Opts, size: u64, real: u64) -> R<(f64, f64, u64)> {
    let env = Env::new(&o.bin, "")?;
    let marker = format!("BENCH-END-{}", Rng::new().below(1 << 40));
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let path = env.data().join(format!("logs/worker-{date}.log"));
    write_log(&path, size, real, &marker)?;
    let on_disk = fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .unwrap_or(0);
    let mut pty = Pty::open(120, 40)?;
    let m2 = marker.clone();
    // A full frame: the status is known and the log's last line is shown.
    let rx = pty.arm(move |s| header_has("STOPPED")(s) && s.contains(&m2));
    let t0 = env.dashboard(&mut pty)?;
    let t = pty.wait(&rx, "first full frame", Duration::from_secs(20))?;
    std::thread::sleep(Duration::from_millis(1500));
    let r = rss(pty.pid()?).unwrap_or(0);
    pty.quit()?;
    Ok((ms(t.duration_since(t0)), mb(r), on_disk))
}

fn rows_big_log(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let n = o.pick(5, 1);
    let real = o.pick(4_000_000, 1_000_000);
    let (mut big_t, mut small_t, mut diff, mut big_rss, mut small_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut disk = 0;
    for i in 0..n {
        let mut pair = [(0.0, 0.0); 2];
        for k in 0..2 {
            let big = (i + k) % 2 == 0;
            let (t, r, d) = if big {
                open_on_log(o, GIB, real)?
            } else {
                open_on_log(o, 1_000_000, 1_000_000)?
            };
            if big {
                disk = d;
            }
            pair[usize::from(!big)] = (t, r);
        }
        big_t.push(pair[0].0);
        small_t.push(pair[1].0);
        big_rss.push(pair[0].1);
        small_rss.push(pair[1].1);
        diff.push(pair[0].1 - pair[1].1);
    }
    let med = |v: &[f64]| summary(v).map_or(0.0, |s| s.0);
    notes.push(format!(
        "6: sparse 1 GiB log ({:.1} MB real lines at its end, {:.1} MB on disk) vs a 1 MB log, both dropped from the page cache first; time from spawn to the frame that shows the state and the log's last line; RSS 1.5 s later, median {:.1} MB (1 GiB) vs {:.1} MB (1 MB); {n} interleaved pairs",
        real as f64 / 1e6,
        disk as f64 / 1e6,
        med(&big_rss),
        med(&small_rss)
    ));
    Ok(vec![
        Row::new(
            "6",
            "open on a 1 GiB log → first full frame",
            "ms",
            Target::AtMost(100.0),
        )
        .with(big_t),
        Row::new(
            "6",
            "open on a 1 MB log → first full frame",
            "ms",
            Target::Info,
        )
        .with(small_t),
        Row::new(
            "6",
            "RSS with the 1 GiB log − with the 1 MB log",
            "MB",
            Target::AtMost(5.0),
        )
        .with(diff),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 7: a file change → visible on screen
// ---------------------------------------------------------------------------------------------

fn rows_file_change(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let env = Env::new(&o.bin, "--log-rate 2")?;
    env.start()?;
    let pid = env.worker_pid().ok_or("no worker PID")?;
    let mut pty = Pty::open(120, 40)?;
    env.dashboard(&mut pty)?;
    let t = Duration::from_secs(10);
    pty.wait_for("RUNNING", t, header_has("RUNNING"))?;
    let pid_file = env.data().join(".worker.pid");
    let log = env.worker_log().ok_or("no worker log")?;
    let mut rng = Rng::new();
    let (mut removed, mut appended) = (Vec::new(), Vec::new());
    let n = o.pick(10, 1);
    for i in 0..n {
        // Never in phase with the dashboard's 1 s health tick.
        std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        let rx = pty.arm(header_has("UNMANAGED"));
        let t0 = Instant::now();
        fs::remove_file(&pid_file).map_err(|e| format!("rm .worker.pid: {e}"))?;
        let seen = pty.wait(&rx, "UNMANAGED after .worker.pid removed", t)?;
        removed.push(ms(seen.duration_since(t0)));
        // Put it back (atomically, like the product writes it) and wait for RUNNING again.
        let tmp = env.data().join(".worker.pid.bench");
        fs::write(&tmp, pid.to_string()).map_err(|e| format!("write: {e}"))?;
        fs::rename(&tmp, &pid_file).map_err(|e| format!("rename: {e}"))?;
        pty.wait_for("RUNNING again", t, header_has("RUNNING"))?;

        std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        let marker = format!("BENCH-APPENDED-{i}-{}", rng.below(1 << 30));
        let stamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        let line = format!("[{stamp}] [INFO ] [BENCH ] {marker}\n");
        let m2 = marker.clone();
        let rx = pty.arm(move |s| s.contains(&m2));
        let mut f = OpenOptions::new()
            .append(true)
            .open(&log)
            .map_err(|e| format!("open log: {e}"))?;
        let t0 = Instant::now();
        f.write_all(line.as_bytes())
            .map_err(|e| format!("append: {e}"))?;
        let seen = pty.wait(&rx, "the appended log line", t)?;
        appended.push(ms(seen.duration_since(t0)));
    }
    pty.quit()?;
    let steady = steady_lag(o, 200, o.pick(10, 1))?;
    notes.push(format!(
        "7: 120×40 pty, worker logging 2 lines/s; {n} rounds at random phases; from unlink()/write() to the bytes that show it arriving from the pty. Steady stream: worker logging 200 lines/s, 160×40 pty, from a seq=-stamped line reaching the file (polled every 0.5 ms) to the screen showing it"
    ));
    Ok(vec![
        Row::new(
            "7",
            "`.worker.pid` removed → UNMANAGED on screen",
            "ms",
            Target::AtMost(100.0),
        )
        .with(removed),
        Row::new(
            "7",
            "log line appended → on screen",
            "ms",
            Target::AtMost(100.0),
        )
        .with(appended),
        Row::new(
            "7",
            "newest log line on screen, worker logging 200 lines/s",
            "ms",
            Target::AtMost(100.0),
        )
        .with(steady),
    ])
}

/// A worker logging `rate` lines/s without pause: at random moments, wait for the next
/// `seq=`-stamped line to reach the file (polling its new bytes every 0.5 ms), then time until
/// the screen shows it (a marker line of our own would scroll away unseen).
fn steady_lag(o: &Opts, rate: u32, n: usize) -> R<Vec<f64>> {
    let env = Env::new(&o.bin, &format!("--log-rate {rate}"))?;
    env.start()?;
    let log = env.worker_log().ok_or("no worker log")?;
    let mut pty = Pty::open(160, 40)?;
    env.dashboard(&mut pty)?;
    pty.wait_for("RUNNING with lines", Duration::from_secs(10), |s| {
        header_has("RUNNING")(s) && max_seq(s).is_some()
    })?;
    let mut rng = Rng::new();
    let mut lags = Vec::new();
    for _ in 0..n {
        std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        let from = file_len(Some(&log));
        let next = file_seq(&log).ok_or("no seq= in the log")? + 1;
        let rx = pty.arm(move |s| max_seq(s).is_some_and(|q| q >= next));
        let waited = Instant::now();
        let written = loop {
            let text = read_from(&log, from);
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            if max_seq(complete).is_some_and(|q| q >= next) {
                break Instant::now();
            }
            if waited.elapsed() > Duration::from_secs(10) {
                return Err("the worker stopped logging".into());
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let seen = pty.wait(&rx, "the file's newest line", Duration::from_secs(30))?;
        lags.push(ms(seen.saturating_duration_since(written)));
    }
    pty.quit()?;
    Ok(lags)
}

// ---------------------------------------------------------------------------------------------
// Row 8: log ingest at 50,000 lines/s
// ---------------------------------------------------------------------------------------------

struct Ingest {
    lag_ms: f64,
    cpu: Vec<f64>,
    mean_cpu: f64,
    worker_cpu: f64,
    rate: f64,
    rss: f64,
}

fn ingest_run(o: &Opts, secs: u64) -> R<Ingest> {
    let env = Env::new(&o.bin, "--log-rate 50000")?;
    env.start()?;
    let wpid = env.worker_pid().ok_or("no worker PID")?;
    let log = env.worker_log().ok_or("no worker log")?;
    let mut pty = Pty::open(160, 40)?;
    env.dashboard(&mut pty)?;
    pty.wait_for("RUNNING with lines", Duration::from_secs(10), |s| {
        header_has("RUNNING")(s) && max_seq(s).is_some()
    })?;
    let t0 = Instant::now();
    let seq0 = file_seq(&log).unwrap_or(0);
    let w0 = cpu_ns(wpid).unwrap_or(0);
    let s = sample(
        pty.pid()?,
        Duration::from_secs(secs),
        Duration::from_secs(1),
    )?;
    let w1 = cpu_ns(wpid).unwrap_or(0);
    let end = Instant::now();
    let seq_end = file_seq(&log).ok_or("no seq= in the log")?;
    let rate = (seq_end - seq0) as f64 / end.duration_since(t0).as_secs_f64();
    let rx = pty.arm(move |s| max_seq(s).is_some_and(|q| q >= seq_end));
    let seen = pty.wait(
        &rx,
        "the file's last line at the end",
        Duration::from_secs(60),
    );
    let lag_ms = match seen {
        Ok(t) => ms(t.saturating_duration_since(end)),
        Err(_) => f64::INFINITY,
    };
    let rss_now = rss(pty.pid()?).unwrap_or(0);
    pty.quit()?;
    env.run_ok(&["stop", "--grace", "5s"])?;
    Ok(Ingest {
        lag_ms,
        cpu: s.cpu,
        mean_cpu: s.mean_cpu,
        worker_cpu: (w1 - w0) as f64 / end.duration_since(t0).as_nanos() as f64 * 100.0,
        rate,
        rss: mb(rss_now),
    })
}

fn rows_ingest(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let secs = o.pick(10, 2);
    let n = o.pick(3, 1);
    let (mut lag, mut cpu, mut mean, mut wcpu, mut rate, mut rss_v) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for _ in 0..n {
        let r = ingest_run(o, secs)?;
        lag.push(r.lag_ms);
        cpu.extend(r.cpu);
        mean.push(r.mean_cpu);
        wcpu.push(r.worker_cpu);
        rate.push(r.rate);
        rss_v.push(r.rss);
    }
    let med = |v: &[f64]| summary(v).map_or(0.0, |s| s.0);
    notes.push(format!(
        "8: {n} runs of {secs} s, stand-in --log-rate 50000 (achieved {:.0} lines/s), 160×40 pty; lag = from the end of the window (the file's last seq= read then) to the screen showing that seq; CPU per second of the dashboard (mean {:.1} %), worker {:.1} %; dashboard RSS at the end {:.1} MB",
        med(&rate),
        med(&mean),
        med(&wcpu),
        med(&rss_v)
    ));
    let max_lag = lag.iter().copied().fold(0.0, f64::max);
    Ok(vec![
        Row::new(
            "8",
            "ingest 50k lines/s: dashboard lag behind the file",
            "ms",
            Target::AtMost(1000.0),
        )
        .with(lag)
        .judged_on(max_lag, "worst"),
        Row::new("8", "ingest 50k lines/s: dashboard CPU", "%", Target::Info).with(cpu),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 9: pm2 jlist vs --once
// ---------------------------------------------------------------------------------------------

fn rows_pm2(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let Some(pm2) = which("pm2") else {
        return Ok(vec![Row::text(
            "9",
            "`pm2 jlist` vs `--once`",
            "pm2 is not installed (not on PATH): not measured",
        )]);
    };
    let env = Env::new(&o.bin, "")?;
    env.start()?;
    let pm2_home = env.spec.root.join("pm2-home");
    fs::create_dir_all(&pm2_home).map_err(|e| format!("mkdir: {e}"))?;
    let pm2_cmd = |args: &[&str]| {
        let mut c = Command::new(&pm2);
        c.args(args)
            .env("PM2_HOME", &pm2_home)
            .env("HOME", env.spec.root.join("home"))
            .stdin(Stdio::null());
        c
    };
    let port = free_port()?;
    // One app under pm2: a second stand-in worker on its own port.
    let st = pm2_cmd(&["start"])
        .arg(&o.bin)
        .args([
            "--name",
            "bench-app",
            "--interpreter",
            "none",
            "--",
            "stand-in-worker",
            "--log-rate",
            "0",
            "--port",
        ])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let result = (|| -> R<Vec<Row>> {
        if !st.as_ref().is_ok_and(|s| s.success()) {
            return Err(format!("pm2 start failed: {st:?}"));
        }
        let (mut p, mut c) = (Vec::new(), Vec::new());
        let n = o.pick(30, 2);
        let time = |mut cmd: Command| -> R<f64> {
            let t0 = Instant::now();
            let out = cmd.output().map_err(|e| format!("run: {e}"))?;
            let d = ms(t0.elapsed());
            if !out.status.success() {
                return Err(format!(
                    "exited {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(d)
        };
        time(pm2_cmd(&["jlist"]))?;
        time(env.cmd(&["--once"]))?;
        for i in 0..n {
            if i % 2 == 0 {
                p.push(time(pm2_cmd(&["jlist"]))?);
                c.push(time(env.cmd(&["--once"]))?);
            } else {
                c.push(time(env.cmd(&["--once"]))?);
                p.push(time(pm2_cmd(&["jlist"]))?);
            }
        }
        let ratio = summary(&p).map_or(0.0, |s| s.0) / summary(&c).map_or(f64::NAN, |s| s.0);
        notes.push(format!(
            "9: {n} interleaved pairs; pm2 {} with a temporary PM2_HOME holding one app (a stand-in), its daemon killed afterwards",
            pm2.display()
        ));
        Ok(vec![
            Row::new("9", "`pm2 jlist` (one app)", "ms", Target::Info).with(p),
            Row::new("9", "`--once` in the same runs", "ms", Target::Info).with(c),
            Row::new(
                "9",
                "ratio of medians: pm2 jlist / --once",
                "×",
                Target::AtLeast(20.0),
            )
            .with(vec![ratio]),
        ])
    })();
    let _ = pm2_cmd(&["kill"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    result
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let mut o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    o.bin = match release_binary(o.build) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    };
    install_cleanup();
    let started = Instant::now();
    eprintln!(
        "bench: {} run of {}",
        if o.smoke { "smoke" } else { "full" },
        o.bin.display()
    );
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    type Section = fn(&Opts, &mut Vec<String>) -> R<Vec<Row>>;
    let sections: [(&[u32], &str, Section); 7] = [
        (&[1, 2], "--once / ensure", rows_cli),
        (&[3, 4], "start / stop", rows_start_stop),
        (&[5], "idle dashboard", rows_idle),
        (&[6], "1 GiB log", rows_big_log),
        (&[7], "file change → screen", rows_file_change),
        (&[8], "log ingest", rows_ingest),
        (&[9], "pm2", rows_pm2),
    ];
    for (ids, name, f) in sections {
        if !ids.iter().any(|r| o.wants(*r)) {
            continue;
        }
        eprintln!("bench: rows {ids:?}: {name}…");
        match f(&o, &mut notes) {
            Ok(r) => rows.extend(
                r.into_iter()
                    .filter(|r| r.id.parse::<u32>().is_ok_and(|id| o.wants(id))),
            ),
            Err(e) => {
                eprintln!("bench: rows {ids:?} failed: {e}");
                failures.push(format!("rows {ids:?} ({name}): {e}"));
            }
        }
    }
    println!();
    print_table(&rows, o.smoke);
    println!();
    println!("{}", machine_line());
    println!(
        "binary: {} (release); {} run, {:.0} s",
        o.bin.display(),
        if o.smoke { "smoke" } else { "full" },
        started.elapsed().as_secs_f64()
    );
    for n in &notes {
        println!("  {n}");
    }
    if !failures.is_empty() {
        println!();
        for f in &failures {
            println!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
