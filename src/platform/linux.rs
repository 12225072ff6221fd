//! Linux: procfs for process facts and port owners, a pidfd for exact waits and signals.

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::process::{self as rp, PidfdFlags};

use super::{unix, Pid, PortHolder, ProcInfo, StartToken, Stop};

/// What `/proc/PID/stat` tells about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Field 9: the kernel's flags for the process (`PF_*`).
    pub flags: u64,
    pub utime: u64,
    pub stime: u64,
    pub num_threads: u64,
    /// Field 22: start time in clock ticks since boot, the start token.
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
        flags: num(9)?,
        utime: num(14)?,
        stime: num(15)?,
        num_threads: num(20)?,
        starttime: num(22)?,
        rss_pages: num(24)?,
    })
}

/// A procfs file of at most `limit` bytes, read 4 KiB at a time until a read comes back short.
///
/// Not `fs::read_to_string`: procfs files say size 0, so std reads them into a buffer that
/// starts at 32 bytes and doubles, and each read makes the kernel format the whole file again
/// (and map the other process's memory for `cmdline` and `environ`): six reads for a `stat`.
/// For the files read here (`stat`, one record; `cmdline` and `environ`, which copy the other
/// process's memory until the count or its end) a read that comes back short has reached the
/// end.
fn read_proc(path: &str, limit: usize) -> Option<Vec<u8>> {
    let mut f = fs::File::open(path).ok()?;
    let mut block = [0u8; 4096];
    let mut out = Vec::new();
    loop {
        let n = match f.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        out.extend_from_slice(&block[..n]);
        if out.len() >= limit {
            out.truncate(limit);
            break;
        }
        if n < block.len() {
            break;
        }
    }
    Some(out)
}

fn proc_stat(pid: Pid) -> Option<ProcStat> {
    let raw = read_proc(&format!("/proc/{pid}/stat"), 4096)?;
    parse_stat(std::str::from_utf8(&raw).ok()?)
}

/// The process's argv, split on NUL. `None` if it is gone; empty for kernel threads.
fn cmdline(pid: Pid) -> Option<Vec<String>> {
    let buf = read_proc(&format!("/proc/{pid}/cmdline"), 64 * 1024)?;
    Some(
        buf.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

fn sysconf_or(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(name) };
    if v > 0 {
        v as u64
    } else {
        fallback
    }
}

fn clock_ticks() -> u64 {
    static T: OnceLock<u64> = OnceLock::new();
    *T.get_or_init(|| sysconf_or(libc::_SC_CLK_TCK, 100))
}

fn page_size() -> u64 {
    static P: OnceLock<u64> = OnceLock::new();
    *P.get_or_init(|| sysconf_or(libc::_SC_PAGESIZE, 4096))
}

/// The boot time in whole seconds since the epoch, read once: what `/proc/stat` says as
/// `btime`, which the kernel computes as the real-time clock less the time since boot
/// (`CLOCK_BOOTTIME`), so it is computed here the same way from the two clocks. Reading
/// `/proc/stat` has the kernel format every CPU's counters: 70 µs of a `status` run.
fn boot_time() -> Option<u64> {
    static BTIME: OnceLock<Option<u64>> = OnceLock::new();
    *BTIME.get_or_init(|| {
        let now = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid timespec to write; the clock ids are the kernel's.
            let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
            (rc == 0).then(|| i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
        };
        let since_boot = now(libc::CLOCK_BOOTTIME)?;
        let real = now(libc::CLOCK_REALTIME)?;
        u64::try_from((real - since_boot).div_euclid(1_000_000_000)).ok()
    })
}

/// `btime` from `/proc/stat` (the tests compare it with [`boot_time`]).
#[cfg(test)]
fn boot_time_from_proc_stat() -> Option<u64> {
    let text = String::from_utf8(read_proc("/proc/stat", 1 << 20)?).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The environment of a process (`KEY=value` entries) from `/proc/PID/environ`: empty for
/// another user's process or one that has gone.
pub fn environ(pid: Pid) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    let Some(buf) = read_proc(&format!("/proc/{pid}/environ"), 256 * 1024) else {
        return Vec::new();
    };
    buf.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| std::ffi::OsString::from_vec(s.to_vec()))
        .collect()
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_micros(ticks.saturating_mul(1_000_000) / clock_ticks())
}

pub(super) fn proc_info(pid: Pid) -> Option<ProcInfo> {
    let s = proc_stat(pid)?;
    let owner = fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid());
    let started =
        boot_time().map(|b| UNIX_EPOCH + Duration::from_secs(b) + ticks_to_duration(s.starttime));
    Some(ProcInfo {
        pid,
        ppid: s.ppid,
        start: StartToken(s.starttime),
        started,
        cmdline: cmdline(pid).unwrap_or_default(),
        exe: fs::read_link(format!("/proc/{pid}/exe")).ok(),
        owner,
        rss_bytes: s.rss_pages * page_size(),
        cpu: ticks_to_duration(s.utime + s.stime),
        threads: Some(s.num_threads),
        zombie: s.is_zombie(),
        leads_group: s.session == pid && s.pgrp == pid,
        name: s.comm,
    })
}

pub(super) fn start_token(pid: Pid) -> Option<StartToken> {
    proc_stat(pid)
        .filter(|s| !s.is_zombie())
        .map(|s| StartToken(s.starttime))
}

pub(super) fn group_members(pgid: Pid) -> Vec<Pid> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok())
        .filter_map(proc_stat)
        .filter(|s| s.pgrp == pgid && !s.is_zombie())
        .map(|s| s.pid)
        .collect()
}

/// VmHWM of `/proc/PID/status`.
pub(super) fn peak_rss_bytes(pid: Pid) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The threads of `pid` from `/proc/PID/task/*`: schedstat's ns of CPU, status's context switches.
pub(super) fn threads(pid: Pid) -> Vec<super::ThreadTime> {
    let Ok(rd) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let tid: u64 = e.file_name().to_str()?.parse().ok()?;
            let dir = e.path();
            let ns: u64 = fs::read_to_string(dir.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let wakeups = fs::read_to_string(dir.join("status")).ok().map(|t| {
                t.lines()
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum()
            });
            let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
            Some(super::ThreadTime {
                tid,
                name: name.trim().to_string(),
                cpu: Duration::from_nanos(ns),
                wakeups,
            })
        })
        .collect()
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

/// One `/proc/net/tcp{,6}` row, if it is a listening socket: (inode, port, uid).
fn listen_row(line: &str) -> Option<(u64, u16, u32)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 || f[3] != "0A" {
        return None;
    }
    let (_, p) = f[1].rsplit_once(':')?;
    Some((
        f[9].parse().ok()?,
        u16::from_str_radix(p, 16).ok()?,
        f[7].parse().ok()?,
    ))
}

/// Every listening TCP socket in `/proc/net/tcp{,6}` text: (inode, port).
pub fn parse_net_listeners(text: &str) -> Vec<(u64, u16)> {
    text.lines()
        .skip(1)
        .filter_map(listen_row)
        .map(|(inode, port, _)| (inode, port))
        .collect()
}

/// The listening TCP sockets: (inode, port, uid), IPv4 first. `enough` is asked after the IPv4
/// ones: when it is content, the IPv6 ones are not asked for.
///
/// From the kernel's socket diagnostics (netlink `SOCK_DIAG_BY_FAMILY`, as `ss -l` asks), which
/// walks the listening sockets only. `/proc/net/tcp` walks every bucket of the connection hash
/// table to reach its end, sized by the machine's memory: 2 to 4 ms a file on a 24 GiB machine
/// with 300 sockets, which made every other worker on the host cost a `status` several
/// milliseconds. Where netlink is refused (a sandbox), the files are read.
fn listeners(enough: impl Fn(&[(u64, u16, u32)]) -> bool) -> Vec<(u64, u16, u32)> {
    let mut out = Vec::new();
    for family in [libc::AF_INET, libc::AF_INET6] {
        if family == libc::AF_INET6 && enough(&out) {
            return out;
        }
        match sock_diag::listening(family) {
            Ok(rows) => out.extend(rows),
            Err(_) => return listeners_from_proc(enough),
        }
    }
    out
}

/// Socket diagnostics over netlink: the listening TCP sockets of one address family.
mod sock_diag {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const TCP_LISTEN: u32 = 10;
    /// `nlmsghdr` (16 bytes), then `inet_diag_req_v2` (56 bytes).
    const REQUEST_LEN: usize = 16 + 56;
    /// `inet_diag_msg`: family, state, timer, retrans, the 48-byte socket id, expires, rqueue,
    /// wqueue, uid, inode.
    const MSG_LEN: usize = 4 + 48 + 5 * 4;

    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }

    /// The request: a dump of `family`'s TCP sockets in the LISTEN state.
    pub(super) fn request(family: i32) -> [u8; REQUEST_LEN] {
        let mut r = [0u8; REQUEST_LEN];
        r[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
        r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
        r[6..8].copy_from_slice(&flags.to_ne_bytes());
        r[8..12].copy_from_slice(&1u32.to_ne_bytes());
        r[16] = family as u8;
        r[17] = libc::IPPROTO_TCP as u8;
        r[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        r
    }

    /// What one datagram of the answer holds: its rows, and whether the dump is over.
    pub(super) fn parse(buf: &[u8], out: &mut Vec<(u64, u16, u32)>) -> io::Result<bool> {
        let mut at = 0;
        while at + 16 <= buf.len() {
            let bad = || io::Error::new(io::ErrorKind::InvalidData, "short netlink message");
            let len = u32_at(buf, at).ok_or_else(bad)? as usize;
            let kind = u16_at(buf, at + 4).ok_or_else(bad)?;
            if len < 16 || at + len > buf.len() {
                return Err(bad());
            }
            match i32::from(kind) {
                libc::NLMSG_DONE => return Ok(true),
                libc::NLMSG_ERROR => {
                    let errno = u32_at(buf, at + 16).map_or(0, |e| e as i32);
                    return Err(io::Error::from_raw_os_error(
                        errno.checked_neg().unwrap_or(0),
                    ));
                }
                _ if kind == SOCK_DIAG_BY_FAMILY && len >= 16 + MSG_LEN => {
                    let m = &buf[at + 16..at + len];
                    // The port is in network order; the uid and inode in the host's.
                    let port = u16::from_be_bytes([m[4], m[5]]);
                    let uid = u32_at(m, 4 + 48 + 12).ok_or_else(bad)?;
                    let inode = u32_at(m, 4 + 48 + 16).ok_or_else(bad)?;
                    if m[1] as u32 == TCP_LISTEN {
                        out.push((u64::from(inode), port, uid));
                    }
                }
                _ => {}
            }
            // Messages are aligned to 4 bytes.
            at += (len + 3) & !3;
        }
        Ok(false)
    }

    pub(super) fn listening(family: i32) -> io::Result<Vec<(u64, u16, u32)>> {
        // SAFETY: a plain socket(2) call; the descriptor is owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let req = request(family);
        // SAFETY: `req` is valid for its length; the kernel is the peer (no address needed).
        let sent = unsafe { libc::send(sock.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        // Bounded: a dump ends with NLMSG_DONE; a kernel that never says it is not waited on
        // for ever (each datagram holds dozens of sockets).
        for _ in 0..10_000 {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 || parse(&buf[..n as usize], &mut out)? {
                return Ok(out);
            }
        }
        Err(io::Error::other("netlink dump without an end"))
    }
}

/// [`listeners`] from `/proc/net/tcp` and `tcp6`. The kernel lists listeners before any other
/// socket, so the read stops at the first row that is not one.
fn listeners_from_proc(enough: impl Fn(&[(u64, u16, u32)]) -> bool) -> Vec<(u64, u16, u32)> {
    let mut out = Vec::new();
    for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if path.ends_with('6') && enough(&out) {
            break;
        }
        let Ok(mut f) = fs::File::open(path) else {
            continue;
        };
        let mut pending = String::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut header = true;
        'read: loop {
            let n = match f.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(nl) = pending.find('\n') {
                let line: String = pending.drain(..=nl).collect();
                if std::mem::take(&mut header) {
                    continue;
                }
                match listen_row(&line) {
                    Some(row) => out.push(row),
                    None => break 'read,
                }
            }
        }
    }
    out
}

/// The socket inodes among `pid`'s open fds.
fn socket_inodes(pid: Pid) -> Vec<u64> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| {
            let link = fs::read_link(fd.path()).ok()?;
            let s = link.to_str()?;
            s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

pub(super) fn listening_ports(pid: Pid) -> Vec<u16> {
    let inodes = socket_inodes(pid);
    if inodes.is_empty() {
        return Vec::new();
    }
    listeners(|found| {
        inodes
            .iter()
            .all(|i| found.iter().any(|(inode, _, _)| inode == i))
    })
    .into_iter()
    .filter(|(inode, _, _)| inodes.contains(inode))
    .map(|(_, port, _)| port)
    .collect()
}

/// Every live descendant of `root`, breadth first, from `/proc/PID/task/TID/children` (each
/// thread lists the children it forked): a few reads per descendant instead of one per process
/// on the machine. `None` where the kernel has no children files (built without
/// CONFIG_PROC_CHILDREN), so the caller walks the process table instead.
pub(super) fn descendants(root: Pid) -> Option<Vec<Pid>> {
    let children_of = |pid: Pid| -> Option<Vec<Pid>> {
        let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let mut kids = Vec::new();
        let mut any = false;
        for t in tasks.flatten() {
            let Ok(text) = fs::read_to_string(t.path().join("children")) else {
                continue;
            };
            any = true;
            kids.extend(
                text.split_whitespace()
                    .filter_map(|c| c.parse::<Pid>().ok()),
            );
        }
        any.then_some(kids)
    };
    let mut found = children_of(root)?;
    let mut i = 0;
    while i < found.len() {
        let kids = children_of(found[i]).unwrap_or_default();
        for k in kids {
            if k != root && !found.contains(&k) {
                found.push(k);
            }
        }
        i += 1;
    }
    Some(found)
}

/// Every PID in `/proc`.
pub(super) fn pids() -> Vec<Pid> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok())
        .collect()
}

/// `/proc/PID/cmdline` of each PID: one open (relative to one /proc fd: no walk from the root for
/// each of a thousand processes), usually one read (a second only for an argv longer than the
/// buffer), one close. The kernel's own threads, which have no command line, are known from
/// one file ([`kernel_threads`]) and not opened: half the PIDs of a quiet machine. A long list
/// is split over the cores: each read costs tens of µs on some kernels (the other process's
/// memory is mapped for it), so a machine with thousands of processes would otherwise wait on
/// one core.
pub(super) fn command_lines_of(pids: &[Pid]) -> Vec<(Pid, Vec<String>)> {
    let Ok(proc_dir) = rustix::fs::open(
        "/proc",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) else {
        return Vec::new();
    };
    let kernel = kernel_threads();
    let owned: Vec<Pid>;
    let pids = if kernel.is_empty() {
        pids
    } else {
        owned = pids
            .iter()
            .copied()
            .filter(|p| kernel.binary_search(p).is_err())
            .collect();
        &owned
    };
    const PER_THREAD: usize = 256;
    // A short list is read here: the core count (read from the cgroup files) is not needed.
    if pids.len() <= PER_THREAD {
        return read_cmdlines(&proc_dir, pids);
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(pids.len().div_ceil(PER_THREAD))
        .max(1);
    if threads == 1 {
        return read_cmdlines(&proc_dir, pids);
    }
    let chunk = pids.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = pids
            .chunks(chunk)
            .map(|part| {
                let dir = &proc_dir;
                s.spawn(move || read_cmdlines(dir, part))
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// `PF_KTHREAD` in a process's flags (`/proc/PID/stat`'s ninth field).
const PF_KTHREAD: u64 = 0x0020_0000;

/// A process's flags (`/proc/PID/stat`'s ninth field).
fn stat_flags(pid: Pid) -> Option<u64> {
    proc_stat(pid).map(|s| s.flags)
}

/// The kernel's own threads, sorted: kthreadd (PID 2) and its children, from its `children`
/// file. Only when PID 2's flags say it is a kernel thread: in a PID namespace (a container)
/// PID 2 is an ordinary process, whose children may be anything. Empty where that cannot be
/// read (no `children` files: a kernel built without CONFIG_PROC_CHILDREN).
fn kernel_threads() -> Vec<Pid> {
    if stat_flags(2).is_none_or(|f| f & PF_KTHREAD == 0) {
        return Vec::new();
    }
    let Some(raw) = read_proc("/proc/2/task/2/children", 1 << 20) else {
        return Vec::new();
    };
    let mut pids: Vec<Pid> = String::from_utf8_lossy(&raw)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .chain([2])
        .collect();
    pids.sort_unstable();
    pids
}

fn read_cmdlines(proc_dir: &OwnedFd, pids: &[Pid]) -> Vec<(Pid, Vec<String>)> {
    let mut buf = vec![0u8; 8 * 1024];
    let mut out = Vec::new();
    for &pid in pids {
        let Ok(fd) = rustix::fs::openat(
            proc_dir,
            format!("{pid}/cmdline"),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) else {
            continue;
        };
        let mut f = fs::File::from(fd);
        let Ok(n) = f.read(&mut buf) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let mut raw = buf[..n].to_vec();
        if n == buf.len() {
            let _ = f.take(56 * 1024).read_to_end(&mut raw);
        }
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        if !argv.is_empty() {
            out.push((pid, argv));
        }
    }
    out
}

pub(super) fn cwd(pid: Pid) -> Option<std::path::PathBuf> {
    fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// The listener of `port`, through `/proc/net/tcp*` and the fds in `/proc/*/fd`.
pub(super) fn port_holder(port: u16) -> Option<PortHolder> {
    let sockets: Vec<(u64, u32)> = listeners(|found| found.iter().any(|(_, p, _)| *p == port))
        .into_iter()
        .filter(|(_, p, _)| *p == port)
        .map(|(inode, _, uid)| (inode, uid))
        .collect();
    let &(inode, uid) = sockets.first()?;
    let want = format!("socket:[{inode}]");
    let pids = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok());
    for pid in pids {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()) {
                let command = cmdline(pid).map(|a| a.join(" ")).filter(|s| !s.is_empty());
                return Some(PortHolder {
                    pid: Some(pid),
                    uid: Some(uid),
                    command,
                });
            }
        }
    }
    Some(PortHolder {
        pid: None,
        uid: Some(uid),
        command: None,
    })
}

/// A pidfd: cannot be confused with a later process of the same PID.
pub(super) struct Handle(OwnedFd);

impl Handle {
    /// `None` when pidfds are unavailable (kernels before 5.3, gVisor, seccomp: ENOSYS or
    /// EPERM): the caller then polls the identity.
    pub(super) fn open(pid: Pid) -> Option<Handle> {
        let p = rp::Pid::from_raw(pid)?;
        rp::pidfd_open(p, PidfdFlags::empty()).ok().map(Handle)
    }

    /// `Some(true)` once the process has exited (zombie or reaped), `Some(false)` if the timeout
    /// passed or the wait was interrupted, `None` if polling the pidfd failed.
    pub(super) fn wait(&self, timeout: Duration) -> Option<bool> {
        let mut fds = [PollFd::new(&self.0, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: timeout.subsec_nanos().into(),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => Some(false),
            Ok(_) => Some(
                fds[0]
                    .revents()
                    .intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR),
            ),
            Err(Errno::INTR) => Some(false),
            Err(_) => None,
        }
    }

    /// Signal through the pidfd: never reaches a recycled PID.
    pub(super) fn signal(&self, how: Stop) -> bool {
        rp::pidfd_send_signal(self.0.as_fd(), unix::signal_of(how)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Netlink's listeners are the files' listeners: our own IPv4 and IPv6 listeners are in
    /// both, with the same inode, port and uid, and a connected socket is in neither.
    #[test]
    fn netlink_listeners_are_the_proc_files_listeners() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").expect("bind v4");
        let v6 = std::net::TcpListener::bind("[::1]:0").ok();
        let client = std::net::TcpStream::connect(v4.local_addr().expect("addr")).expect("conn");
        let inode_of = |fd: i32| -> u64 {
            let link = fs::read_link(format!("/proc/self/fd/{fd}")).expect("fd link");
            let s = link.to_string_lossy().into_owned();
            s.trim_start_matches("socket:[")
                .trim_end_matches(']')
                .parse()
                .expect("socket inode")
        };
        use std::os::fd::AsRawFd;
        let uid = rustix::process::getuid().as_raw();
        let mut ours = vec![(
            inode_of(v4.as_raw_fd()),
            v4.local_addr().expect("addr").port(),
            uid,
        )];
        if let Some(l) = &v6 {
            ours.push((
                inode_of(l.as_raw_fd()),
                l.local_addr().expect("a").port(),
                uid,
            ));
        }
        let netlink: Vec<_> = [libc::AF_INET, libc::AF_INET6]
            .into_iter()
            .flat_map(|f| sock_diag::listening(f).expect("netlink sock_diag"))
            .collect();
        let files = listeners_from_proc(|_| false);
        for row in &ours {
            assert!(netlink.contains(row), "{row:?} not in {netlink:?}");
            assert!(files.contains(row), "{row:?} not in {files:?}");
        }
        let connected = inode_of(client.as_raw_fd());
        assert!(!netlink.iter().any(|(i, ..)| *i == connected));
        assert_eq!(listeners(|_| false).len(), netlink.len());
    }

    #[test]
    fn a_netlink_error_answer_is_an_error() {
        // nlmsghdr (16) + errno (-13, EACCES) + the request's header echoed.
        let mut m = vec![0u8; 36];
        m[0..4].copy_from_slice(&36u32.to_ne_bytes());
        m[4..6].copy_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        m[16..20].copy_from_slice(&(-13i32).to_ne_bytes());
        let e = sock_diag::parse(&m, &mut Vec::new()).expect_err("an error");
        assert_eq!(e.raw_os_error(), Some(13));
        // Cut short: an error, not a panic.
        assert!(sock_diag::parse(&m[..20], &mut Vec::new()).is_err());
    }
    use std::time::SystemTime;

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
    fn net_tcp_finds_listener() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:9471 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5551 1\n   1: 0100007F:9471 0100007F:1234 01 00000000:00000000 00:00000000 00000000  1000        0 5552 1\n";
        assert_eq!(parse_net_tcp(text, 0x9471), vec![(5551, 1000)]);
        assert!(parse_net_tcp(text, 80).is_empty());
    }

    #[test]
    fn kernel_threads_are_only_the_kernels() {
        let kernel = kernel_threads();
        if kernel.is_empty() {
            // A PID namespace (PID 2 is no kernel thread) or no `children` files: nothing skipped.
            eprintln!("skipped: no kernel threads known here (a container, or no children files)");
        }
        let me = std::process::id() as Pid;
        assert!(kernel.binary_search(&me).is_err());
        for pid in &kernel {
            // Gone since (a kworker ends) or a kernel thread.
            if let Some(f) = stat_flags(*pid) {
                assert_ne!(
                    f & PF_KTHREAD,
                    0,
                    "PID {pid} is listed but is no kernel thread"
                );
            }
        }
        // Our own process is still read.
        let all = command_lines_of(&pids());
        assert!(all.iter().any(|(p, _)| *p == me));
    }

    #[test]
    fn the_boot_time_from_the_clocks_is_the_kernels_btime() {
        let ours = boot_time().expect("clocks");
        let kernels = boot_time_from_proc_stat().expect("/proc/stat");
        // The same subtraction, read a few nanoseconds apart: equal but at a second's edge.
        assert!(ours.abs_diff(kernels) <= 1, "ours {ours}, btime {kernels}");
    }

    #[test]
    fn start_time_is_close_to_now_for_a_new_child() {
        let mut c = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let info = proc_info(c.id() as Pid).expect("info");
        let _ = c.kill();
        let _ = c.wait();
        let age = SystemTime::now()
            .duration_since(info.started.expect("started"))
            .unwrap_or_default();
        assert!(age < Duration::from_secs(3), "age {age:?}");
    }

    #[test]
    fn a_wait_interrupted_by_signals_lasts_until_its_deadline() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        // A handled signal makes poll() fail with EINTR on the thread it lands on.
        let hit = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(libc::SIGUSR1, hit.clone()).expect("handler");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let h = super::super::ProcHandle::open_current(child.id() as Pid).expect("handle");
        assert!(h.exact(), "a pidfd on this kernel");
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as usize;
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let pest = std::thread::spawn(move || {
            let mut sent = 0;
            while !d2.load(Ordering::SeqCst) {
                // SAFETY: `me` is the waiting thread, alive until `done` is set.
                unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
                sent += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        });
        let t0 = std::time::Instant::now();
        let exited = h.wait_exit(Duration::from_millis(400));
        let waited = t0.elapsed();
        done.store(true, Ordering::SeqCst);
        let sent = pest.join().expect("signaller");
        let _ = child.kill();
        let _ = child.wait();
        assert!(!exited, "the child still ran");
        assert!(
            hit.load(Ordering::SeqCst) && sent > 3,
            "signals arrived ({sent})"
        );
        assert!(
            waited >= Duration::from_millis(400),
            "cut short after {waited:?}"
        );
    }
}
