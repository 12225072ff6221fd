//! Helpers for the black-box tests: the real binary, the built-in stand-in worker, a temp data
//! dir, a free port, bounded waits, and a guard that stops only what the test started.
//!
//! Rules kept here so every test follows them: never `~/.claude-mem` (HOME and the data dir are
//! temp dirs), never port 37777, never kill a process the test did not start, no fixed sleeps.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use claude_mem_top::platform::{self, Stop};

pub const BIN: &str = env!("CARGO_BIN_EXE_claude-mem-top");

/// How often a deadline-bounded wait looks again.
/// The trickling fake server's pause between bytes: the fault being simulated.
const TRICKLE_GAP: Duration = Duration::from_secs(1);

pub const POLL: Duration = Duration::from_millis(10);
/// Upper bound for one CLI call that should be quick.
pub const CALL: Duration = Duration::from_secs(30);

/// A free TCP port on loopback (never 37777).
pub fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let p = l.local_addr().expect("local addr").port();
        if p != 37777 {
            return p;
        }
    }
}

/// Wait until `cond` holds, at most `limit`; panics naming `what` otherwise.
#[track_caller]
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Like [`wait_until`] but returns whether it held, without panicking.
pub fn holds_within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if t0.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// (zombie, ppid, leads its own group) of a process, from the crate's platform layer.
pub fn stat(pid: i32) -> Option<(bool, i32, bool)> {
    platform::proc_info(pid).map(|i| (i.zombie, i.ppid, i.leads_group))
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    platform::alive(pid)
}

pub fn cmdline(pid: i32) -> Vec<String> {
    platform::proc_info(pid)
        .map(|i| i.cmdline)
        .unwrap_or_default()
}

/// Live processes whose command line (arguments joined by spaces) contains `needle`.
pub fn live_with(needle: &str) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| alive(*p) && cmdline(*p).join(" ").contains(needle))
        .collect()
}

fn environ_has(pid: i32, needle: &OsStr) -> bool {
    platform::environ(pid).iter().any(|kv| kv == needle)
}

fn all_pids() -> Vec<i32> {
    platform::processes().into_iter().map(|(p, _)| p).collect()
}

/// Send a Unix signal to a process the test started.
#[cfg(unix)]
pub fn signal(pid: i32, sig: libc::c_int) {
    assert!(pid > 1, "refusing to signal PID {pid}");
    // SAFETY: plain syscall; pid > 1. Callers only pass processes their test started.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// End a process the test started, at once (SIGKILL, TerminateProcess).
pub fn kill(pid: i32) {
    assert!(pid > 1, "refusing to signal PID {pid}");
    if let Some(t) = platform::start_token(pid) {
        platform::signal_pid(pid, t, Stop::Force);
    }
}

/// What one CLI call did.
#[derive(Debug)]
pub struct Out {
    pub status: ExitStatus,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident memory of the process, in KiB.
    pub max_rss_kb: i64,
}

/// Exit status, stdout and stderr, labelled: what a failed assertion shows.
fn describe(status: &ExitStatus, stdout: &str, stderr: &str) -> String {
    format!("exit {status:?}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// [`Out::both`] for the `Output` of `Command::output`.
pub fn text(o: &Output) -> String {
    describe(
        &o.status,
        &String::from_utf8_lossy(&o.stdout),
        &String::from_utf8_lossy(&o.stderr),
    )
}

impl Out {
    pub fn both(&self) -> String {
        describe(&self.status, &self.stdout, &self.stderr)
    }

    /// Stdout then stderr, unlabelled: for assertions that a line appears in either.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Assert the exit code, showing everything otherwise.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Out {
        assert_eq!(self.code, want, "{}", self.both());
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.both()))
    }
}

/// A finished call: raw wait status, stdout, stderr, peak RSS (KiB), elapsed.
#[cfg(unix)]
type Done = (i32, Vec<u8>, Vec<u8>, i64, Duration);
#[cfg(windows)]
type Done = (Option<ExitStatus>, Vec<u8>, Vec<u8>, i64, Duration);

/// A CLI call running in the background.
pub struct Running {
    pub pid: i32,
    rx: mpsc::Receiver<Done>,
    what: String,
}

/// Reap `pid` and read its peak memory (`wait4`), retrying on EINTR.
#[cfg(unix)]
fn wait4(pid: i32) -> (i32, i64) {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return (status, ru.ru_maxrss);
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return (-1, 0);
        }
    }
}

/// Start a command with stdin from /dev/null and stdout/stderr captured.
pub fn spawn(mut c: Command) -> Running {
    let what = format!("{c:?}");
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let pid = child.id() as i32;
    let mut so = child.stdout.take().expect("stdout pipe");
    let mut se = child.stderr.take().expect("stderr pipe");
    #[cfg(unix)]
    drop(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let err = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = se.read_to_end(&mut b);
            b
        });
        let mut out = Vec::new();
        let _ = so.read_to_end(&mut out);
        let err = err.join().unwrap_or_default();
        #[cfg(unix)]
        let (status, rss) = wait4(pid);
        // No peak-memory figure on Windows: the status is all we keep.
        #[cfg(windows)]
        let (status, rss) = (child.wait().ok(), 0);
        let _ = tx.send((status, out, err, rss, t0.elapsed()));
    });
    Running { pid, rx, what }
}

impl Running {
    /// Wait for it (stdout and stderr closed, process reaped) at most `limit`; on timeout kill
    /// it (we started it) and panic.
    #[track_caller]
    pub fn wait(self, limit: Duration) -> Out {
        match self.rx.recv_timeout(limit) {
            Ok((raw, out, err, rss, elapsed)) => {
                #[cfg(unix)]
                let status = ExitStatus::from_raw(raw);
                #[cfg(windows)]
                let status = raw.expect("wait for the child");
                Out {
                    status,
                    code: status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out).into_owned(),
                    stderr: String::from_utf8_lossy(&err).into_owned(),
                    elapsed,
                    max_rss_kb: rss,
                }
            }
            Err(_) => {
                if alive(self.pid) {
                    kill(self.pid);
                }
                panic!(
                    "{} did not finish (or its stdout/stderr stayed open) within {limit:?}",
                    self.what
                );
            }
        }
    }
}

#[track_caller]
pub fn run(c: Command, limit: Duration) -> Out {
    spawn(c).wait(limit)
}

/// A test's world: a temp root holding `home/`, `data/` (not created until needed) and `bin/`
/// (first on PATH, for fake `pm2` and `bun`), a free port, and the processes it started.
pub struct Env {
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
    pub home: PathBuf,
    pub bin: PathBuf,
    pub port: u16,
    /// Extra switches for the stand-in worker.
    pub worker_args: String,
    /// Extra environment for every call.
    pub extra_env: Vec<(OsString, OsString)>,
    /// Leave `CLAUDE_MEM_TOP_WORKER_CMD` unset: claude-mem's default command (bun and the plugin's
    /// script under the temp HOME, both missing).
    pub default_worker: bool,
    /// Run `stop` on drop (off when the PID file names a process that must not be signalled).
    pub stop_on_drop: bool,
    /// Processes the test spawned itself: killed and reaped on drop.
    pub children: Mutex<Vec<Child>>,
}

impl Env {
    pub fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("cmt-test-")
            .tempdir()
            .expect("tempdir");
        let dir = root.path().join("data");
        let home = root.path().join("home");
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&bin).expect("bin");
        Env {
            dir,
            home,
            bin,
            port: free_port(),
            worker_args: String::new(),
            extra_env: Vec::new(),
            default_worker: false,
            stop_on_drop: true,
            children: Mutex::new(Vec::new()),
            root,
        }
    }

    pub fn with_args(mut self, args: &str) -> Env {
        self.worker_args = args.to_string();
        self
    }

    /// The stand-in at `--log-rate 2`, its command line marked with `--version test-PORT` (see
    /// [`Env::marker`]), plus `extra`.
    pub fn stand_in(extra: &str) -> Env {
        let env = Env::new();
        let args = format!("--log-rate 2 --version {} {extra}", env.marker());
        env.with_args(&args)
    }

    /// No worker command of ours: claude-mem's default one, whose bun and script are missing
    /// under the temp HOME. Nothing can be started, so nothing is stopped on drop.
    pub fn default_worker() -> Env {
        let mut env = Env::new();
        env.default_worker = true;
        env.stop_on_drop = false;
        env
    }

    /// The unique marker in an [`Env::stand_in`] worker's command line.
    pub fn marker(&self) -> String {
        format!("test-{}", self.port)
    }

    /// Use `dir` as the data dir instead of `data/` under the temp root; the caller keeps `dir`
    /// alive (declared before the `Env`, so it outlives it). For tests whose screen shows the
    /// path and needs it as short as a plain tempdir.
    pub fn at(mut self, dir: &Path) -> Env {
        self.dir = dir.to_path_buf();
        self
    }

    /// Create the data dir now (it is otherwise left for the binary or [`Env::write`] to create).
    pub fn make_dir(&self) -> &Path {
        std::fs::create_dir_all(&self.dir).expect("data dir");
        &self.dir
    }

    pub fn worker_cmd(&self) -> String {
        let rate = if self.worker_args.contains("--log-rate") {
            ""
        } else {
            " --log-rate 1"
        };
        let bin = shlex::try_quote(BIN).map_or_else(|_| BIN.into(), |q| q.into_owned());
        format!("{bin} stand-in-worker{rate} {}", self.worker_args)
            .trim_end()
            .to_string()
    }

    /// `bin/` first, then the system's own directories (never the developer's PATH).
    pub fn path_var(&self) -> OsString {
        #[cfg(unix)]
        let system: Vec<PathBuf> = vec!["/usr/bin".into(), "/bin".into()];
        #[cfg(windows)]
        let system: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        std::env::join_paths(std::iter::once(self.bin.clone()).chain(system)).expect("PATH entries")
    }

    /// A command with a clean environment: HOME, PATH, data dir, port, worker command. No proxy
    /// variables, no NO_COLOR, nothing from the developer's shell.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        self.setup(&mut c);
        c.args(args);
        c
    }

    /// The clean environment of [`Env::cmd`] on any command.
    pub fn setup(&self, c: &mut Command) {
        c.env_clear();
        // Windows cannot start sockets or processes without these; the home is USERPROFILE.
        #[cfg(windows)]
        for k in ["SYSTEMROOT", "WINDIR", "TEMP", "TMP", "PATHEXT", "COMSPEC"] {
            if let Some(v) = std::env::var_os(k) {
                c.env(k, v);
            }
        }
        #[cfg(windows)]
        c.env("USERPROFILE", &self.home);
        c.env("HOME", &self.home)
            .env("PATH", self.path_var())
            // Only a fake pm2 the test put into bin/, never a real one on the machine.
            .env("CLAUDE_MEM_TOP_PM2", self.bin.join("pm2"))
            .env("CLAUDE_MEM_DATA_DIR", &self.dir)
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string());
        if !self.default_worker {
            c.env("CLAUDE_MEM_TOP_WORKER_CMD", self.worker_cmd());
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
    }

    /// The same call as an unprivileged user (uid/gid 65534), or `None` without setpriv.
    pub fn cmd_as_nobody(&self, args: &[&str]) -> Option<Command> {
        if !setpriv_available() {
            return None;
        }
        let mut c = Command::new("setpriv");
        self.setup(&mut c);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args(args);
        Some(c)
    }

    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Out {
        run(self.cmd(args), CALL)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        std::fs::create_dir_all(&self.dir).expect("data dir");
        std::fs::write(self.path(name), content).expect("write test file");
    }

    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.path(name)).ok()
    }

    pub fn exists(&self, name: &str) -> bool {
        std::fs::symlink_metadata(self.path(name)).is_ok()
    }

    /// Set a file's mtime `secs` seconds in the past ("written earlier").
    pub fn age(&self, name: &str, secs: u64) {
        let f = std::fs::File::options()
            .write(true)
            .open(self.path(name))
            .expect("open to set mtime");
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .expect("set mtime");
    }

    /// The PID in `.worker.pid`, if it parses.
    pub fn pid(&self) -> Option<i32> {
        self.read(".worker.pid")?.trim().parse().ok()
    }

    /// `supervise`'s state file as JSON (`Null` while absent or invalid).
    pub fn supervise_state(&self) -> serde_json::Value {
        self.read(".claude-mem-top.supervise.json")
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Today's dated log (UTC).
    pub fn log_name() -> String {
        format!("worker-{}.log", chrono::Utc::now().format("%Y-%m-%d"))
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("logs").join(Self::log_name())
    }

    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn env_needle(&self) -> OsString {
        let mut n = OsString::from("CLAUDE_MEM_DATA_DIR=");
        n.push(self.dir.as_os_str());
        n
    }

    /// Live processes carrying this test's data dir in their environment (so this test started
    /// them, directly or through `start`), other than claude-mem-top calls themselves.
    pub fn ours(&self) -> Vec<i32> {
        let needle = self.env_needle();
        let me = std::process::id() as i32;
        all_pids()
            .into_iter()
            .filter(|p| *p != me && alive(*p) && environ_has(*p, &needle))
            .filter(|p| {
                let a = cmdline(*p);
                a.get(1).is_some_and(|s| {
                    s == "stand-in-worker" || s == "stand-in-child" || s == "stand-in-helper"
                })
            })
            .collect()
    }

    /// Live stand-in workers of this test.
    pub fn workers(&self) -> Vec<i32> {
        self.ours()
            .into_iter()
            .filter(|p| cmdline(*p).get(1).is_some_and(|s| s == "stand-in-worker"))
            .collect()
    }

    /// The configured worker command (so its command line passes the identity check) plus
    /// `args`, in the clean environment with `port`, stdio on /dev/null; not started yet.
    pub fn worker_command(&self, port: u16, args: &[&str]) -> Command {
        let cmd = self.worker_cmd();
        let argv = shlex::split(&cmd).expect("worker command");
        let mut c = Command::new(&argv[0]);
        self.setup(&mut c);
        c.env("CLAUDE_MEM_WORKER_PORT", port.to_string())
            .args(&argv[1..])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Keep a process the test spawned, so that drop kills and reaps it. Returns its PID.
    pub fn own(&self, child: Child) -> i32 {
        let pid = child.id() as i32;
        self.children.lock().expect("children").push(child);
        pid
    }

    /// Start a stand-in worker directly (not through `start`): a plain child of the test, in the
    /// test's own process group. Returns its PID once it answers on `port`, if `wait_listen`.
    /// With `wait_listen`, a port still held by a worker the test just killed (Wine lets go of a
    /// killed process's socket a moment late) is first waited free, so the new worker can bind.
    pub fn spawn_worker_directly(&self, port: u16, args: &[&str], wait_listen: bool) -> i32 {
        if wait_listen {
            wait_port_free(port, Duration::from_secs(10));
        }
        let child = self
            .worker_command(port, args)
            .spawn()
            .expect("spawn stand-in worker");
        let pid = self.own(child);
        if wait_listen {
            wait_until(
                Duration::from_secs(10),
                &format!("PID {pid} listening on {port}"),
                || {
                    assert!(
                        alive(pid),
                        "the stand-in worker {pid} exited before it listened"
                    );
                    TcpStream::connect(("127.0.0.1", port)).is_ok()
                },
            );
        }
        pid
    }

    /// A process unrelated to the worker (`sleep`; `ping` on Windows), owned by the test.
    pub fn spawn_sleep(&self) -> i32 {
        #[cfg(unix)]
        let mut c = Command::new("sleep");
        #[cfg(unix)]
        c.arg("600");
        #[cfg(windows)]
        let mut c = Command::new("ping");
        #[cfg(windows)]
        c.args(["-n", "600", "127.0.0.1"]);
        let child = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        self.own(child)
    }

    /// Put an executable shell script into `bin/` (first on PATH).
    #[cfg(unix)]
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.bin.join(name);
        let tmp = self.bin.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // Rename into place: no "text file busy" from a half-written executable.
        std::fs::rename(&tmp, &p).expect("rename script");
        p
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.stop_on_drop && self.dir.is_dir() {
            // Through the core: identity-checked, signals only the worker this test started.
            let r = spawn(self.cmd(&["stop", "--grace", "500ms"]));
            let _ = r.rx.recv_timeout(Duration::from_secs(15));
        }
        if let Ok(mut kids) = self.children.lock() {
            for k in kids.iter_mut() {
                let _ = k.kill();
                let _ = k.wait();
            }
        }
        // Last resort: anything still carrying this test's unique data dir was started by it.
        for p in self.ours() {
            kill(p);
        }
    }
}

/// Wait until something accepts connections on loopback `port`, at most `limit`.
#[track_caller]
pub fn wait_listening(port: u16, limit: Duration) {
    wait_until(limit, &format!("a listener on port {port}"), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// Wait until nothing listens on `port` (a bind on it succeeds).
pub fn wait_port_free(port: u16, limit: Duration) {
    wait_until(limit, &format!("port {port} free"), || {
        TcpListener::bind(("127.0.0.1", port)).is_ok()
    });
}

/// A test (or a part of one) that cannot run here says so: on stderr, and as a line in the file
/// `CMT_TEST_SKIPS` names (`.ci/run` counts and prints them), so a skip is never silent.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIP {test}: {reason}");
    if let Some(path) = std::env::var_os("CMT_TEST_SKIPS") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write: parallel tests append to the same file, and a `writeln!` may take
            // several writes that interleave with theirs.
            let _ = f.write_all(format!("{test}: {reason}\n").as_bytes());
        }
    }
}

/// Tests run as root (CI too); the other-user cases need it to switch users or chown.
pub fn is_root() -> bool {
    platform::current_uid() == Some(0)
}

/// setpriv is there and we may use it to become uid 65534.
pub fn setpriv_available() -> bool {
    is_root()
        && Command::new("setpriv")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Make a path reachable by an unprivileged user (tempdirs are 0700).
#[cfg(unix)]
pub fn open_up(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// How a fake server answers each connection.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with this status line code and body.
    Status(u16, Vec<u8>),
    /// These bytes, then close.
    Raw(Vec<u8>),
    /// Read the request, then never answer (until the client gives up).
    Silent,
    /// A valid 200 response, one byte a second.
    Trickle,
    /// 200 with a 10 MB body.
    Huge,
    /// A 10 MB header that never ends.
    HugeHead,
}

/// A TCP server on loopback inside the test, answering every connection the same way.
pub struct FakeServer {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    pub fn start(reply: Reply) -> FakeServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        Self::serve(l, reply)
    }

    pub fn serve(l: TcpListener, reply: Reply) -> FakeServer {
        let port = l.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let (reply, s2) = (reply.clone(), s.clone());
                std::thread::spawn(move || answer(conn, &reply, &s2));
            }
        });
        FakeServer { port, hits, stop }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(conn: &mut TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    // What was asked does not matter: each fake answers every request the same way.
    let _ = claude_mem_top::worker::head::read_head(conn, 16 * 1024);
}

fn answer(mut conn: TcpStream, reply: &Reply, stop: &AtomicBool) {
    read_request(&mut conn);
    let _ = conn.set_write_timeout(Some(Duration::from_secs(30)));
    match reply {
        Reply::Status(code, body) => {
            let mut r = format!(
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            let _ = conn.write_all(&r);
            // Close our side at once (FIN now): on Wine a dropped socket can linger.
            let _ = conn.shutdown(std::net::Shutdown::Write);
        }
        Reply::Raw(b) => {
            let _ = conn.write_all(b);
            let _ = conn.shutdown(std::net::Shutdown::Write);
        }
        Reply::Silent => {
            // Hold the connection until the client closes it (read returns 0) or we stop.
            let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
            let mut b = [0u8; 64];
            while !stop.load(Ordering::SeqCst) {
                match conn.read(&mut b) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return,
                }
            }
        }
        Reply::Trickle => {
            let body = b"{\"status\":\"ok\"}";
            let r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                body.len(),
                String::from_utf8_lossy(body)
            );
            for b in r.bytes() {
                if stop.load(Ordering::SeqCst) || conn.write_all(&[b]).is_err() {
                    return;
                }
                // The fault itself (not a wait): one byte a second.
                std::thread::sleep(TRICKLE_GAP);
            }
        }
        Reply::Huge => {
            let size = 10 * 1024 * 1024;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..size / chunk.len() {
                if conn.write_all(&chunk).is_err() {
                    return;
                }
            }
        }
        Reply::HugeHead => {
            if conn.write_all(b"HTTP/1.1 200 OK\r\nX-Junk: ").is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..160 {
                if conn.write_all(&chunk).is_err() {
                    return;
                }
            }
        }
    }
}
