//! The only place that knows about procfs, pidfd and `/proc/net/tcp`.
//!
//! Everything Linux-specific the core needs is a function here; a macOS or Windows port replaces
//! this file (sysinfo's start time and plain signals are the portable fallback).

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What `/proc/PID/stat` tells us about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub utime: u64,
    pub stime: u64,
    pub num_threads: u64,
    /// Field 22: start time in clock ticks since boot. Our "start token".
    pub starttime: u64,
    pub rss_pages: u64,
}

impl ProcStat {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parse the content of `/proc/PID/stat`. The command name may hold spaces and parentheses, so
/// the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    let field = |n: usize| rest.get(n - 3).copied();
    let num = |n: usize| field(n).and_then(|s| s.parse::<u64>().ok());
    let inum = |n: usize| field(n).and_then(|s| s.parse::<i32>().ok());
    Some(ProcStat {
        pid,
        comm,
        state: field(3)?.chars().next()?,
        ppid: inum(4)?,
        pgrp: inum(5)?,
        session: inum(6)?,
        utime: num(14)?,
        stime: num(15)?,
        num_threads: num(20)?,
        starttime: num(22)?,
        rss_pages: num(24)?,
    })
}

pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The process's argv, split on NUL. `None` if it is gone; empty for kernel threads.
pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let mut buf = Vec::new();
    fs::File::open(format!("/proc/{pid}/cmdline"))
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut buf)
        .ok()?;
    Some(
        buf.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// The owner (real uid) of a process.
pub fn proc_uid(pid: i32) -> Option<u32> {
    fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid())
}

pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Boot time in whole seconds since the epoch (`btime` in `/proc/stat`).
pub fn boot_time() -> Option<u64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Wall-clock start time of a process, from its start token and `btime`. Accurate to about a
/// second: `btime` is whole seconds.
pub fn start_time(stat: &ProcStat) -> Option<SystemTime> {
    let btime = boot_time()?;
    let ticks = clock_ticks();
    let ms = btime * 1000 + stat.starttime * 1000 / ticks;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

/// True if a process with this PID exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|s| !s.is_zombie())
}

/// All PIDs currently in /proc.
pub fn all_pids() -> Vec<i32> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every live descendant of `root` (children, grandchildren…), found by walking ppid links.
pub fn descendants(root: i32) -> Vec<i32> {
    let stats: Vec<ProcStat> = all_pids().into_iter().filter_map(proc_stat).collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for s in &stats {
            if s.ppid == parent && !found.contains(&s.pid) && !s.is_zombie() {
                found.push(s.pid);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

/// Live members of a process group.
pub fn group_members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter_map(proc_stat)
        .filter(|s| s.pgrp == pgid && !s.is_zombie())
        .map(|s| s.pid)
        .collect()
}

/// Who listens on a TCP port on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortHolder {
    pub pid: Option<i32>,
    pub uid: u32,
    pub command: Option<String>,
}

impl std::fmt::Display for PortHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => write!(f, "PID {pid} ({cmd}, uid {})", self.uid),
            (Some(pid), None) => write!(f, "PID {pid} (uid {})", self.uid),
            _ => write!(
                f,
                "a process of uid {} (its PID is not visible to us)",
                self.uid
            ),
        }
    }
}

/// Parse `/proc/net/tcp{,6}` text: (inode, uid) of sockets listening on `port`.
pub fn parse_net_tcp(text: &str, port: u16) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let Some((_, p)) = f[1].rsplit_once(':') else {
            continue;
        };
        if u16::from_str_radix(p, 16).ok() != Some(port) || f[3] != "0A" {
            continue;
        }
        if let (Ok(uid), Ok(inode)) = (f[7].parse::<u32>(), f[9].parse::<u64>()) {
            out.push((inode, uid));
        }
    }
    out
}

/// Find the listener of `port` through `/proc/net/tcp*` and the fds in `/proc/*/fd`.
pub fn port_holder(port: u16) -> Option<PortHolder> {
    let mut sockets = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = fs::read_to_string(f) {
            sockets.extend(parse_net_tcp(&text, port));
        }
    }
    let &(inode, uid) = sockets.first()?;
    let want = format!("socket:[{inode}]");
    for pid in all_pids() {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()) {
                let command = cmdline(pid).map(|a| a.join(" ")).filter(|s| !s.is_empty());
                return Some(PortHolder {
                    pid: Some(pid),
                    uid,
                    command,
                });
            }
        }
    }
    Some(PortHolder {
        pid: None,
        uid,
        command: None,
    })
}

/// A pidfd: a handle on one process that cannot be confused with a later process of the same PID.
pub struct PidFd(libc::c_int);

impl PidFd {
    pub fn open(pid: i32) -> Option<PidFd> {
        // SAFETY: a plain syscall; the result is checked.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            None
        } else {
            Some(PidFd(fd as libc::c_int))
        }
    }

    /// Wait until the process exits (becomes a zombie or is reaped) or `timeout` passes.
    /// Returns true if it exited.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: pfd is a valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        r > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP) != 0
    }

    /// Send a signal through the pidfd (never reaches a recycled PID).
    pub fn signal(&self, sig: libc::c_int) -> bool {
        // SAFETY: a plain syscall on an fd we own.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        r == 0
    }
}

impl Drop for PidFd {
    fn drop(&mut self) {
        // SAFETY: we own this fd.
        unsafe {
            libc::close(self.0);
        }
    }
}

/// Signal a process group (the worker leads its own group when we started it with setsid).
pub fn signal_group(pgid: i32, sig: libc::c_int) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: plain syscall; pgid > 1 so this never targets every process (-1) or our own group (0).
    unsafe { libc::kill(-pgid, sig) == 0 }
}

/// Signal one PID (only after its identity has been proven).
pub fn signal_pid(pid: i32, sig: libc::c_int) -> bool {
    if pid <= 1 {
        return false;
    }
    // SAFETY: plain syscall with pid > 1.
    unsafe { libc::kill(pid, sig) == 0 }
}

pub fn current_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// True if a path's owner is someone other than us (root may read anyone's, but we still treat
/// another user's file as theirs).
pub fn owned_by_other(meta: &fs::Metadata) -> bool {
    meta.uid() != current_uid()
}

pub fn is_world_writable(meta: &fs::Metadata) -> bool {
    meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0
}

/// Resident memory in bytes from the stat's rss field.
pub fn rss_bytes(stat: &ProcStat) -> u64 {
    stat.rss_pages * page_size()
}

pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parens_in_name() {
        let line = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 3 0 123456 1000 200 18446744073709551615";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "a) b) c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.session, 42);
        assert_eq!(s.utime, 5);
        assert_eq!(s.num_threads, 3);
        assert_eq!(s.starttime, 123456);
        assert_eq!(s.rss_pages, 200);
    }

    #[test]
    fn own_process_is_alive_and_has_token() {
        let me = std::process::id() as i32;
        let s = proc_stat(me).expect("own stat");
        assert!(!s.is_zombie());
        assert!(s.starttime > 0);
        assert!(start_time(&s).is_some());
    }

    #[test]
    fn net_tcp_finds_listener() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:9471 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5551 1\n   1: 0100007F:9471 0100007F:1234 01 00000000:00000000 00:00000000 00000000  1000        0 5552 1\n";
        assert_eq!(parse_net_tcp(text, 0x9471), vec![(5551, 1000)]);
        assert!(parse_net_tcp(text, 80).is_empty());
    }
}
