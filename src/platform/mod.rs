//! The platform layer: the only place that knows which OS it runs on.
//!
//! Everything else in the crate sees what it needs, not what Linux (or macOS, or Windows) has:
//! an exact, opaque [`StartToken`], a [`ProcInfo`], a [`ProcHandle`] that waits for a process to
//! exit and stops it ([`Stop::Graceful`], then [`Stop::Force`]), detached spawn, the owner of a
//! listening port, file opens that never follow a symlink nor block on a FIFO, and the owner and
//! permission checks. `cfg(target_os)`, procfs, pidfd, kqueue, Win32 handles and `unsafe` live
//! here and nowhere else.
//!
//! Per OS: `linux.rs` (procfs, pidfd), `macos.rs` (libproc, kqueue), `windows.rs` (Win32), with
//! `unix.rs` holding what Linux and macOS share (signals, process groups, file modes). The
//! process table ([`processes`]) is sysinfo's on Linux and Windows and libproc's on macOS (sysinfo
//! links CoreFoundation and IOKit there, which a build without Apple's SDK cannot link).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os_family;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;
#[cfg(windows)]
use windows as os_family;

#[cfg(not(target_os = "macos"))]
mod table;

#[cfg(target_os = "linux")]
pub use linux::environ;
#[cfg(target_os = "macos")]
pub use macos::{environ, processes};
pub use os_family::{
    current_uid, describe_file_type, detach, dir_writable, file_id, file_owner, host_name,
    ignore_terminate, is_executable, is_world_writable, open_create_nofollow, open_lock_file,
    open_read_nofollow, quiet_on_closed_pipe, shared_file_permissions, shutdown_signals, stop_self,
    suspend_signals, sync_dir, user_name,
};
#[cfg(windows)]
pub use table::environ;
#[cfg(not(target_os = "macos"))]
pub use table::processes;

/// Windows: claude-mem's defaults differ there (no uid in its default port, longer timeouts).
pub const WINDOWS: bool = cfg!(windows);

/// The value of `key` in an environment (`KEY=value` entries), byte for byte (a path value
/// need not be UTF-8). `None` when absent or empty.
pub fn env_get(env: &[std::ffi::OsString], key: &str) -> Option<std::ffi::OsString> {
    env.iter().find_map(|e| {
        let rest = e
            .as_encoded_bytes()
            .strip_prefix(key.as_bytes())?
            .strip_prefix(b"=")?;
        if rest.is_empty() {
            return None;
        }
        // SAFETY: `rest` is the tail of `e`'s own encoded bytes, split right after an ASCII `=`,
        // a boundary `from_encoded_bytes_unchecked` accepts.
        Some(unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(rest) }.to_os_string())
    })
}

/// Every live descendant of `root` (children, grandchildren…), by walking parent links.
pub fn descendants(root: Pid) -> Vec<Pid> {
    #[cfg(target_os = "linux")]
    if let Some(mut found) = linux::descendants(root) {
        // As the table walk: live processes only (a zombie child is listed until reaped).
        found.retain(|p| alive(*p));
        return found;
    }
    descendants_in(&processes(), root)
}

/// The descendants of `root` in a table of (pid, ppid) pairs, breadth first.
pub fn descendants_in(table: &[(Pid, Pid)], root: Pid) -> Vec<Pid> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for &(pid, ppid) in table {
            if ppid == parent && pid != parent && !found.contains(&pid) {
                found.push(pid);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

/// The local time now, with the local UTC offset (as claude-mem's logger writes its times).
pub fn local_now() -> chrono::DateTime<chrono::FixedOffset> {
    to_local(chrono::Utc::now())
}

/// A UTC time in the local time zone.
pub fn to_local(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::FixedOffset> {
    #[cfg(not(target_os = "macos"))]
    return t.with_timezone(&chrono::Local).fixed_offset();
    #[cfg(target_os = "macos")]
    {
        let offset = chrono::FixedOffset::east_opt(unix::utc_offset_secs(t.timestamp()))
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
        t.with_timezone(&offset)
    }
}

/// The environment variables that name the user's home, in the order read: `HOME` on Linux and macOS,
/// `USERPROFILE` on Windows (as Node's `os.homedir()`, claude-mem's runtime, reads them), there
/// else `HOME` (a home set only that way, as by some shells, was always honoured).
#[cfg(not(windows))]
const HOME_VARS: &[&str] = &["HOME"];
#[cfg(windows)]
const HOME_VARS: &[&str] = &["USERPROFILE", "HOME"];

/// The user's home, where claude-mem keeps `.claude-mem` and `.claude`: `HOME` (on Windows
/// `USERPROFILE`, else `HOME`) when set and not empty, else what the OS says (etcetera: the password
/// database on Unix, the profile known folder on Windows). The one home lookup of the crate.
///
/// The variables come first on every OS because claude-mem resolves its data dir from them, and
/// a wrapper or a test that points them at another directory means that one. On Windows the
/// crate alone would not do: its known folder ignores `HOME`, and the test suite (under Wine)
/// sets `USERPROFILE`/`HOME` to a temporary directory.
pub fn home_dir() -> Option<PathBuf> {
    HOME_VARS
        .iter()
        .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
        .or_else(|| etcetera::home_dir().ok())
        .filter(|h| !h.as_os_str().is_empty())
}

/// The home named by an environment (`KEY=value` entries, another process's): its `HOME` (on
/// Windows `USERPROFILE`, else `HOME`), as [`home_dir`] reads ours.
pub fn home_in_env(env: &[std::ffi::OsString]) -> Option<PathBuf> {
    HOME_VARS
        .iter()
        .find_map(|k| env_get(env, k))
        .map(PathBuf::from)
}

/// The user's configuration directory, from etcetera's base strategy for this OS: on Linux and
/// macOS the XDG one, `$XDG_CONFIG_HOME` when it is an absolute path (the XDG rule), else
/// `~/.config` (on macOS too, where command-line tools keep theirs, rather than
/// `~/Library/Application Support`); on Windows `%APPDATA%`, else the Roaming AppData known
/// folder.
pub fn config_dir() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy()
        .ok()
        .map(|s| s.config_dir())
}

/// Where programs are installed besides PATH, in the order claude-mem's runner looks.
pub fn program_dirs() -> Vec<PathBuf> {
    #[cfg(target_os = "macos")]
    let dirs: Vec<PathBuf> = vec!["/opt/homebrew/bin".into(), "/usr/local/bin".into()];
    #[cfg(all(unix, not(target_os = "macos")))]
    let dirs: Vec<PathBuf> = vec!["/usr/local/bin".into(), "/usr/bin".into()];
    #[cfg(windows)]
    let dirs: Vec<PathBuf> = std::env::var_os("LOCALAPPDATA")
        .map(|l| vec![PathBuf::from(l).join("bun").join("bin")])
        .unwrap_or_default();
    dirs
}

/// True if a file belongs to another user (root may read anyone's, but we still treat another
/// user's file as theirs). Always false where files have no numeric owner.
pub fn owned_by_other(meta: &std::fs::Metadata) -> bool {
    match (file_owner(meta), current_uid()) {
        (Some(owner), Some(me)) => owner != me,
        _ => false,
    }
}

/// True if something (a file, a directory, another user's entry) exists at `path`, without
/// following a symlink.
pub fn exists(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// A process ID. Signed, as the core has always stored them; every function here treats values
/// `<= 1` (init, "every process", "our group") as never signallable.
pub type Pid = i32;

/// The exact identity of a process start, opaque to callers: equal tokens mean the same process,
/// whatever happened to its PID in between. Linux: `/proc/PID/stat` field 22 (clock ticks since
/// boot); macOS: the start time in µs since the epoch (`proc_pidinfo`); Windows: the creation
/// FILETIME (100 ns since 1601). Stored in our own files as a plain number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StartToken(u64);

impl StartToken {
    /// A token read back from one of our files.
    pub fn from_raw(raw: u64) -> StartToken {
        StartToken(raw)
    }

    /// The number to store in a file.
    pub fn raw(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for StartToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What the OS tells about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: Pid,
    pub ppid: Pid,
    /// The short name (`comm` on Linux, the image name on Windows).
    pub name: String,
    pub start: StartToken,
    /// Wall-clock start time, as exact as the OS allows (about a second on Linux, whose boot time
    /// is whole seconds).
    pub started: Option<SystemTime>,
    /// argv; empty for kernel threads and where the OS would not tell us.
    pub cmdline: Vec<String>,
    pub exe: Option<PathBuf>,
    /// The owner's uid; `None` where the OS has no numeric uid (Windows) or would not say.
    pub owner: Option<u32>,
    pub rss_bytes: u64,
    /// User plus system CPU time so far.
    pub cpu: Duration,
    pub threads: Option<u64>,
    /// It has exited and waits to be reaped: never a live process.
    pub zombie: bool,
    /// It leads its own session and process group (we started it detached), so the group can be
    /// signalled as one. Always false where the OS has no such groups (Windows).
    pub leads_group: bool,
}

impl ProcInfo {
    /// A process described, not read (its name is argv\[0\]): the fixture of display tests.
    /// It proves nothing; a proof comes from `procman::identity::prove` only.
    #[doc(hidden)]
    pub fn described(pid: Pid, argv: &[&str]) -> ProcInfo {
        ProcInfo {
            pid,
            ppid: 1,
            name: argv.first().map(|a| a.to_string()).unwrap_or_default(),
            start: StartToken::from_raw(1),
            started: None,
            cmdline: argv.iter().map(|a| a.to_string()).collect(),
            exe: None,
            owner: None,
            rss_bytes: 0,
            cpu: Duration::ZERO,
            threads: None,
            zombie: false,
            leads_group: true,
        }
    }

    /// The command line as one string, or `[name]` when argv is empty.
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.name)
        } else {
            self.cmdline.join(" ")
        }
    }
}

/// Everything the OS says about `pid`, or `None` if there is no such process.
pub fn proc_info(pid: Pid) -> Option<ProcInfo> {
    if pid <= 0 {
        return None;
    }
    os::proc_info(pid)
}

/// CPU and memory of a worker and its descendants, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu: Duration,
    pub rss_bytes: u64,
    pub threads: u64,
    /// How many of the given descendants are alive.
    pub children: u32,
}

/// The summed usage of `pid` and those of `family` still alive; `None` if `pid` has exited.
pub fn family_usage(pid: Pid, family: &[Pid]) -> Option<Usage> {
    let main = proc_info(pid).filter(|p| !p.zombie)?;
    let mut u = Usage {
        cpu: main.cpu,
        rss_bytes: main.rss_bytes,
        threads: main.threads.unwrap_or(1),
        children: 0,
    };
    for k in family {
        if let Some(p) = proc_info(*k).filter(|p| !p.zombie) {
            u.cpu += p.cpu;
            u.rss_bytes += p.rss_bytes;
            u.threads += p.threads.unwrap_or(1);
            u.children += 1;
        }
    }
    Some(u)
}

/// One thread of a process, for profiling (the bench): where its CPU went and how often it woke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadTime {
    pub tid: u64,
    pub name: String,
    /// CPU time on the CPU so far, as exact as the OS keeps it (ns on Linux).
    pub cpu: Duration,
    /// Context switches (voluntary and involuntary), where the OS counts them.
    pub wakeups: Option<u64>,
}

/// The threads of `pid` with their CPU time; empty where the OS gives no per-thread figures to
/// an unprivileged reader (the caller then uses [`ProcInfo::cpu`]).
pub fn threads(pid: Pid) -> Vec<ThreadTime> {
    if pid <= 0 {
        return Vec::new();
    }
    os_threads(pid)
}

/// The most resident memory the process has used so far, where the OS tracks it.
pub fn peak_rss_bytes(pid: Pid) -> Option<u64> {
    #[cfg(target_os = "linux")]
    return linux::peak_rss_bytes(pid);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

#[cfg(target_os = "linux")]
fn os_threads(pid: Pid) -> Vec<ThreadTime> {
    linux::threads(pid)
}

#[cfg(not(target_os = "linux"))]
fn os_threads(_pid: Pid) -> Vec<ThreadTime> {
    Vec::new()
}

/// The machine, in one line for a benchmark table: CPU model, cores, memory, OS and kernel.
#[cfg(target_os = "macos")]
pub fn machine_line() -> String {
    macos::machine_line()
}

/// The machine, in one line for a benchmark table: CPU model, cores, memory, OS and kernel.
#[cfg(not(target_os = "macos"))]
pub fn machine_line() -> String {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = sys
        .cpus()
        .first()
        .map(|c| c.brand().split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "unknown CPU".into());
    let os = sysinfo::System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = sysinfo::System::kernel_version().unwrap_or_else(|| "?".into());
    format!(
        "{cores} cores ({model}), {:.1} GiB RAM, {os}, kernel {kernel}",
        sys.total_memory() as f64 / 1024.0 / 1024.0 / 1024.0
    )
}

/// The start token of a live (not zombie) process: the cheap re-check before a signal.
pub fn start_token(pid: Pid) -> Option<StartToken> {
    if pid <= 0 {
        return None;
    }
    os::start_token(pid)
}

/// True if a process with this PID exists and has not exited.
pub fn alive(pid: Pid) -> bool {
    start_token(pid).is_some()
}

/// True if `pid` is alive and still the process that started with `token`.
pub fn is_same(pid: Pid, token: StartToken) -> bool {
    start_token(pid) == Some(token)
}

/// Live members of the process group `pgid` (empty where the OS has no process groups).
pub fn group_members(pgid: Pid) -> Vec<Pid> {
    if pgid <= 1 {
        return Vec::new();
    }
    os::group_members(pgid)
}

/// How to ask a process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Let it clean up: SIGTERM on Unix, CTRL_BREAK to its group on Windows.
    Graceful,
    /// End it now: SIGKILL on Unix, TerminateProcess on Windows.
    Force,
}

/// Send `how` to every member of the group `pgid`. Only for a group we proved the worker leads
/// ([`ProcInfo::leads_group`]). False if nothing could be sent.
pub fn signal_group(pgid: Pid, how: Stop) -> bool {
    if pgid <= 1 {
        return false;
    }
    os_family::signal_group(pgid, how)
}

/// Send `how` to `pid`, but only if it is still the process with `token` (re-checked right
/// before). False if it is gone, is another process now, or the OS refused.
pub fn signal_pid(pid: Pid, token: StartToken, how: Stop) -> bool {
    match ProcHandle::open(pid, token) {
        Some(h) => h.signal(how),
        None => false,
    }
}

/// A handle on one proven process. Where the OS has one (a pidfd on Linux, a process HANDLE on
/// Windows) it can never reach a later process that reuses the PID; elsewhere every signal is
/// preceded by a start-token re-check. Waits use the OS's exit notification (pidfd, kqueue
/// `EVFILT_PROC`, `WaitForSingleObject`) and fall back to polling the identity with a deadline
/// where that is unavailable (pidfd under old kernels, gVisor or a seccomp filter).
pub struct ProcHandle {
    pid: Pid,
    token: StartToken,
    imp: Option<os::Handle>,
}

impl std::fmt::Debug for ProcHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcHandle")
            .field("pid", &self.pid)
            .field("token", &self.token)
            .field("exact", &self.imp.is_some())
            .finish()
    }
}

/// How often a polling wait re-checks the identity.
const POLL_STEP: Duration = Duration::from_millis(10);

impl ProcHandle {
    /// A handle on `pid`, only if it is alive and still the process with `token`. The token is
    /// checked after the OS handle is opened, so the handle refers to the proven process.
    pub fn open(pid: Pid, token: StartToken) -> Option<ProcHandle> {
        if pid <= 1 {
            return None;
        }
        let imp = os::Handle::open(pid);
        if !is_same(pid, token) {
            return None;
        }
        Some(ProcHandle { pid, token, imp })
    }

    /// A handle on whatever process `pid` is now (for a child we just spawned).
    pub fn open_current(pid: Pid) -> Option<ProcHandle> {
        let token = start_token(pid)?;
        ProcHandle::open(pid, token)
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    pub fn token(&self) -> StartToken {
        self.token
    }

    /// True when waits and signals go through an OS handle, false when they poll the identity.
    pub fn exact(&self) -> bool {
        self.imp.is_some()
    }

    /// True once the process has exited (a zombie counts as exited).
    pub fn exited(&self) -> bool {
        match &self.imp {
            Some(h) => h
                .wait(Duration::ZERO)
                .unwrap_or_else(|| !is_same(self.pid, self.token)),
            None => !is_same(self.pid, self.token),
        }
    }

    /// Wait until the process exits or `timeout` passes; true if it exited. Interrupted waits are
    /// resumed until the deadline.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if let Some(h) = &self.imp {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match h.wait(left) {
                    Some(true) => return true,
                    Some(false) if left.is_zero() => return false,
                    // Woken early (EINTR): wait the rest.
                    Some(false) => continue,
                    // The OS wait failed: fall back to polling.
                    None => break,
                }
            }
        }
        loop {
            if !is_same(self.pid, self.token) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(POLL_STEP));
        }
    }

    /// Send `how` to this process only. False if it has gone or the OS refused.
    pub fn signal(&self, how: Stop) -> bool {
        match &self.imp {
            Some(h) => h.signal(how),
            None => is_same(self.pid, self.token) && os_family::signal_pid(self.pid, how),
        }
    }
}

/// Wait at most `timeout` for a child of ours to exit (an OS exit notification where there is
/// one) and reap it. `None` while it still runs.
pub fn wait_child(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    // `None` here means it has already exited (a zombie has no start token): reap it below.
    if let Some(h) = ProcHandle::open_current(child.id() as Pid) {
        h.wait_exit(timeout);
    }
    child.try_wait().ok().flatten()
}

/// Who listens on a TCP port on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortHolder {
    pub pid: Option<Pid>,
    /// The listening socket's owner, where the OS tells it.
    pub uid: Option<u32>,
    pub command: Option<String>,
}

impl std::fmt::Display for PortHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uid = self.uid.map(|u| format!(", uid {u}")).unwrap_or_default();
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => write!(f, "PID {pid} ({cmd}{uid})"),
            (Some(pid), None) => match self.uid {
                Some(u) => write!(f, "PID {pid} (uid {u})"),
                None => write!(f, "PID {pid}"),
            },
            (None, _) => match self.uid {
                Some(u) => write!(f, "a process of uid {u} (its PID is not visible to us)"),
                None => write!(f, "a process whose PID is not visible to us"),
            },
        }
    }
}

/// The listener of a TCP port on any local address, `None` if nothing listens there.
pub fn port_holder(port: u16) -> Option<PortHolder> {
    os::port_holder(port)
}

/// The listener of a port we just connected to. A socket table read while other sockets come
/// and go can miss a row (Linux's `/proc/net/tcp` is read a page at a time, and Wine builds the
/// Windows table from it): a listener known to exist is looked for again, a few times, briefly.
pub fn port_holder_of_listener(port: u16) -> Option<PortHolder> {
    for _ in 0..4 {
        if let Some(h) = os::port_holder(port) {
            return Some(h);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    None
}

/// The TCP ports `pid` listens on (any local address), sorted, each once. Empty where the OS
/// does not show us its sockets (another user's process).
pub fn listening_ports(pid: Pid) -> Vec<u16> {
    if pid <= 0 {
        return Vec::new();
    }
    let mut ports = os::listening_ports(pid);
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// argv of every live process whose command line the OS shows us, in one pass over the process
/// table (the census's first, cheap filter: exact facts come from [`proc_info`] afterwards).
/// Kernel threads and processes that hide their argv are left out.
pub fn command_lines() -> Vec<(Pid, Vec<String>)> {
    command_lines_of(&pids())
}

/// argv of these processes (those that still exist and show one), in one pass.
pub fn command_lines_of(pids: &[Pid]) -> Vec<(Pid, Vec<String>)> {
    os::command_lines_of(pids)
}

/// Every live process's PID (one directory listing on Linux: no per-process read).
pub fn pids() -> Vec<Pid> {
    os::pids()
}

/// The working directory of `pid`, where the OS lets us read it.
pub fn cwd(pid: Pid) -> Option<PathBuf> {
    if pid <= 0 {
        return None;
    }
    os::cwd(pid)
}

/// How a child we spawned ended, in words: `exit code 3`, `killed by signal 9`.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    match (status.code(), os_family::exit_signal(&status)) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// The program that opens a URL in the user's browser here, and the arguments before the URL:
/// `open` on macOS, `cmd /C start ""` on Windows, `xdg-open` elsewhere.
fn url_opener() -> (&'static str, &'static [&'static str]) {
    #[cfg(target_os = "macos")]
    return ("open", &[]);
    #[cfg(windows)]
    return ("cmd", &["/C", "start", ""]);
    #[cfg(all(not(target_os = "macos"), not(windows)))]
    return ("xdg-open", &[]);
}

/// Why a URL could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenUrlError {
    /// No opener on PATH (a server, a container, an SSH session without one).
    #[error("no {0} to open a browser")]
    NoOpener(&'static str),
    #[error("{0}")]
    Failed(String),
}

/// Open `url` in the user's browser through the platform's opener, detached from our terminal
/// (its own session, no stdin, output discarded), waiting at most `wait` for it to say how it
/// went; an opener still running then (some stay with the browser) is reaped when it exits.
/// Returns the opener's name.
pub fn open_url(url: &str, wait: Duration) -> Result<&'static str, OpenUrlError> {
    let (prog, before) = url_opener();
    let path = which::which(prog).map_err(|_| OpenUrlError::NoOpener(prog))?;
    let mut cmd = std::process::Command::new(path);
    cmd.args(before)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    detach(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| OpenUrlError::Failed(format!("{prog}: {e}")))?;
    match wait_child(&mut child, wait) {
        Some(st) if st.success() => Ok(prog),
        Some(st) => Err(OpenUrlError::Failed(format!(
            "{prog} ended with {}",
            describe_exit(st)
        ))),
        None => {
            let _ = std::thread::Builder::new()
                .name("url-opener".into())
                .spawn(move || {
                    let _ = child.wait();
                });
            Ok(prog)
        }
    }
}

/// A request to shut down that reached this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM; CTRL_BREAK, logoff or system shutdown on Windows.
    Terminate,
    /// The terminal went away: SIGHUP; the console window closed on Windows.
    Hangup,
}

impl Shutdown {
    /// The conventional exit status: 128 + the Unix signal number.
    pub fn exit_code(self) -> u8 {
        match self {
            Shutdown::Interrupt => 130,
            Shutdown::Terminate => 143,
            Shutdown::Hangup => 129,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shutdown::Interrupt => "SIGINT",
            Shutdown::Terminate => "SIGTERM",
            Shutdown::Hangup => "SIGHUP",
        }
    }
}

/// A child that lives until it is killed (or 30 s pass), for tests.
#[cfg(test)]
pub(crate) fn spawn_short_lived() -> std::process::Child {
    #[cfg(unix)]
    let mut c = std::process::Command::new("sleep");
    #[cfg(unix)]
    c.arg("30");
    #[cfg(windows)]
    let mut c = std::process::Command::new("ping");
    #[cfg(windows)]
    c.args(["-n", "30", "127.0.0.1"]);
    c.stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn a child")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_of_an_environment_is_read_as_ours() {
        let env = |pairs: &[&str]| -> Vec<std::ffi::OsString> {
            pairs.iter().map(|p| p.into()).collect()
        };
        let both = env(&["USERPROFILE=/profile", "HOME=/home/me"]);
        let want = if WINDOWS { "/profile" } else { "/home/me" };
        assert_eq!(home_in_env(&both), Some(PathBuf::from(want)));
        // An empty value does not count.
        assert_eq!(home_in_env(&env(&["HOME=", "PATH=/bin"])), None);
        assert_eq!(
            home_in_env(&env(&["HOME=/home/me"])),
            Some(PathBuf::from("/home/me"))
        );
        // Ours: the test process has a home, and it is what the variables say when they say one.
        let ours = home_dir().expect("a home");
        let var = if WINDOWS { "USERPROFILE" } else { "HOME" };
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            assert_eq!(ours, PathBuf::from(v));
        }
    }

    #[test]
    fn own_process_is_alive_with_a_stable_token() {
        let me = std::process::id() as Pid;
        let info = proc_info(me).expect("own info");
        assert!(!info.zombie);
        assert_eq!(start_token(me), Some(info.start));
        assert!(info.started.is_some());
        assert!(!info.cmdline.is_empty());
        assert!(info.rss_bytes > 0);
    }

    #[test]
    fn never_signals_init_or_groups_below_two() {
        assert!(!signal_group(0, Stop::Graceful));
        assert!(!signal_group(1, Stop::Graceful));
        assert!(ProcHandle::open(1, StartToken::from_raw(0)).is_none());
        assert!(proc_info(0).is_none());
    }

    #[test]
    fn a_wrong_token_opens_no_handle() {
        let me = std::process::id() as Pid;
        let token = start_token(me).expect("token");
        assert!(ProcHandle::open(me, StartToken::from_raw(token.raw() ^ 1)).is_none());
        let h = ProcHandle::open(me, token).expect("handle");
        assert!(!h.exited());
        assert!(!h.wait_exit(Duration::from_millis(20)));
    }

    #[test]
    fn wait_sees_a_child_exit() {
        let mut child = spawn_short_lived();
        let pid = child.id() as Pid;
        let h = ProcHandle::open_current(pid).expect("handle on the child");
        assert!(h.signal(Stop::Force));
        let _ = child.wait();
        assert!(h.wait_exit(Duration::from_secs(10)));
        assert!(h.exited());
        assert!(
            !h.signal(Stop::Force),
            "a reaped process is never signalled"
        );
    }

    #[test]
    fn walks_parent_links_and_ignores_cycles() {
        let t = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 6), (7, 4)];
        assert_eq!(descendants_in(&t, 2), vec![3, 4, 7]);
        assert_eq!(descendants_in(&t, 6), Vec::<Pid>::new());
        assert!(descendants_in(&t, 99).is_empty());
    }

    #[test]
    fn finds_a_child_of_ours() {
        let mut child = spawn_short_lived();
        let me = std::process::id() as Pid;
        let kid = child.id() as Pid;
        let found = descendants(me).contains(&kid);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found, "child {kid} among our descendants");
        assert!(processes().iter().any(|&(p, _)| p == me));
    }

    #[test]
    fn port_holder_names_our_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = port_holder(port).expect("a holder");
        assert_eq!(h.pid, Some(std::process::id() as Pid));
        drop(l);
    }
}
