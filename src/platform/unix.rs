//! What Linux and macOS share: signals, process groups, sessions, file modes and owners.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};

use rustix::process::{self as rp, Signal};

use super::{Pid, Shutdown, Stop};

fn raw_pid(pid: Pid) -> Option<rp::Pid> {
    if pid <= 1 {
        None
    } else {
        rp::Pid::from_raw(pid)
    }
}

pub(super) fn signal_of(how: Stop) -> Signal {
    match how {
        Stop::Graceful => Signal::TERM,
        Stop::Force => Signal::KILL,
    }
}

/// Signal one PID. The caller has just re-checked its identity.
pub(super) fn signal_pid(pid: Pid, how: Stop) -> bool {
    raw_pid(pid).is_some_and(|p| rp::kill_process(p, signal_of(how)).is_ok())
}

/// Signal a process group (the worker leads its own when we started it detached).
pub(super) fn signal_group(pgid: Pid, how: Stop) -> bool {
    raw_pid(pgid).is_some_and(|p| rp::kill_process_group(p, signal_of(how)).is_ok())
}

/// Does `pid` lead its own session and process group?
#[cfg(target_os = "macos")]
pub(super) fn leads_group(pid: Pid) -> bool {
    let Some(p) = raw_pid(pid) else {
        return false;
    };
    rp::getsid(Some(p)).is_ok_and(|s| s == p) && rp::getpgid(Some(p)).is_ok_and(|g| g == p)
}

pub(super) fn exit_signal(status: &ExitStatus) -> Option<i32> {
    status.signal()
}

pub fn current_uid() -> Option<u32> {
    Some(rp::getuid().as_raw())
}

/// The login name of a uid (`getpwuid_r`), if the user database has one.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids); getpwuid_r fills it.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: `pw`, `buf` (with its true length) and `out` are valid for the call; the strings
    // it writes live in `buf`, read below while `buf` lives.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() || pw.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded: `pw_name` is a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

/// This machine's host name (`gethostname`), as Node's `os.hostname()` gives it.
pub fn host_name() -> Option<String> {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it on
    // success (the last byte is kept 0 for the truncated case).
    let r = unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len() - 1) };
    if r != 0 {
        return None;
    }
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

/// The uid that owns a file.
pub fn file_owner(meta: &fs::Metadata) -> Option<u32> {
    Some(meta.uid())
}

/// Writable by everyone and not sticky: anyone could swap the file.
pub fn is_world_writable(meta: &fs::Metadata) -> bool {
    meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0
}

/// A number that changes when the file at a path is replaced (its device and inode). `None` if
/// there is no such file.
pub fn file_id(path: &Path) -> Option<u64> {
    let meta = fs::metadata(path).ok()?;
    Some(meta.ino() ^ meta.dev().rotate_left(48))
}

pub fn is_executable(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

/// Can we create and remove files in this directory?
pub fn dir_writable(dir: &Path) -> bool {
    rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .is_ok()
}

/// What kind of non-regular file this is, in words.
pub fn describe_file_type(ft: &fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Open for reading without following a symlink and without blocking on a FIFO, so a file
/// swapped since it was checked can neither redirect us nor hang us.
pub fn open_read_nofollow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Create (or truncate) a file of ours for writing, never through a symlink.
pub fn open_create_nofollow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The permissions of the state files we write (0644: others may read them, as the worker's).
pub fn shared_file_permissions() -> Option<fs::Permissions> {
    Some(fs::Permissions::from_mode(0o644))
}

/// Make a rename in `dir` durable (best effort).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Open (creating it if missing) a lock file of ours, never through a symlink.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Make a command start detached: it leads a new session and process group, so the group can be
/// signalled as one and it survives our terminal closing.
pub fn detach(cmd: &mut Command) {
    // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| rp::setsid().map(|_| ()).map_err(std::io::Error::from));
    }
}

/// A closed pipe on stdout ends this process quietly, as it does `cat` or `grep` (SIGPIPE's
/// default), instead of a write error at every `println!`. Sockets are not affected: the
/// standard library sends with `MSG_NOSIGNAL` (`SO_NOSIGPIPE` on macOS).
pub fn quiet_on_closed_pipe() {
    // SAFETY: restoring a signal's default disposition has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ignore SIGTERM from now on (the stand-in worker's "ignores stop requests" switch).
pub fn ignore_terminate() {
    // SAFETY: installing SIG_IGN has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
}

/// The local UTC offset in seconds at `at` (seconds since the epoch), from `localtime_r`.
#[cfg(target_os = "macos")]
pub(super) fn utc_offset_secs(at: i64) -> i32 {
    let t: libc::time_t = at;
    // SAFETY: an all-zero tm is valid plain data; localtime_r writes into it and reads `t`.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    }
}

/// Call `f` on a thread of its own for each SIGINT, SIGTERM and SIGHUP, until it returns false.
/// Call `f` on each SIGTSTP from outside (`kill -TSTP`; Ctrl-Z in raw mode is a key, not a
/// signal): the dashboard puts the terminal back, then stops itself with [`stop_self`].
pub fn suspend_signals(mut f: impl FnMut() -> bool + Send + 'static) -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTSTP])?;
    std::thread::Builder::new()
        .name("suspend".into())
        .spawn(move || {
            for _ in signals.forever() {
                if !f() {
                    break;
                }
            }
        })?;
    Ok(())
}

/// Stop this process as job control does (SIGSTOP: a handled SIGTSTP would only call the
/// handler again); it goes on at SIGCONT (`fg`).
pub fn stop_self() {
    let _ = rp::kill_process(rp::getpid(), Signal::STOP);
}

pub fn shutdown_signals(
    mut f: impl FnMut(Shutdown) -> bool + Send + 'static,
) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in signals.forever() {
                let s = match s {
                    SIGINT => Shutdown::Interrupt,
                    SIGTERM => Shutdown::Terminate,
                    _ => Shutdown::Hangup,
                };
                if !f(s) {
                    break;
                }
            }
        })?;
    Ok(())
}
