//! macOS: libproc (`proc_pidinfo`, `proc_listpids`, `proc_pidfdinfo`, `proc_pidpath`) for process
//! facts, the process table, groups, port owners and the executable, `KERN_PROCARGS2` for argv and
//! the environment, `sysctlbyname` for the machine line, a kqueue `EVFILT_PROC` registration for
//! exact exit waits. No framework (CoreFoundation, IOKit) is linked: only libSystem.
//!
//! libproc answers `PROC_PIDTBSDINFO`, `PROC_PIDTASKINFO` and the fd flavours only for our own
//! processes (or as root): another user's process has no start token here, so it is never
//! "alive" to us and never signalled, and its sockets are invisible (the port holder is then
//! reported without a PID if the port answers on loopback). `KERN_PROCARGS2` is as restricted:
//! another user's argv and environment read as empty.

use std::ffi::{c_int, c_uint, CStr, OsString};
use std::mem::{size_of, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use rustix::event::kqueue::{self, Event, EventFilter, EventFlags, ProcessEvents};
use rustix::io::Errno;
use rustix::process as rp;

use super::{unix, Pid, PortHolder, ProcInfo, StartToken, Stop};

// From <sys/proc_info.h>; libc has no names for these. Values and offsets were read from the
// SDK headers (compiled for x86_64 and arm64 macOS: identical on both).
const PROC_ALL_PIDS: u32 = 1;
const PROC_PGRP_ONLY: u32 = 2;
const PROC_PIDFDSOCKETINFO: c_int = 3;
const PROX_FDTYPE_SOCKET: u32 = 2;
const SOCKINFO_TCP: i32 = 2;
const TSI_S_LISTEN: i32 = 1;
/// Byte offsets in `struct socket_fdinfo` (`pfi`, then `psi`: `struct socket_info`).
const SOI_PROTOCOL: usize = 180;
const SOI_FAMILY: usize = 184;
const SOI_KIND: usize = 256;
/// `psi.soi_proto.pri_tcp.tcpsi_ini.insi_lport`: an `int` holding the port in network order.
const INSI_LPORT: usize = 268;
/// `psi.soi_proto.pri_tcp.tcpsi_state`.
const TCPSI_STATE: usize = 344;
/// `sizeof(struct socket_fdinfo)` in current SDKs.
const SOCKET_FDINFO_SIZE: usize = 792;
/// What we hand the kernel: more than it writes, so a grown struct in a later macOS still fits
/// (the kernel refuses a buffer smaller than its own struct).
const SOCKET_FDINFO_BUF: usize = 2048;

// The libc structs we hand to the kernel must be the kernel's size, or `proc_pidinfo` refuses.
const _: () = assert!(size_of::<libc::proc_bsdinfo>() == 136);
const _: () = assert!(size_of::<libc::proc_bsdshortinfo>() == 64);
const _: () = assert!(size_of::<libc::proc_taskinfo>() == 96);
const _: () = assert!(size_of::<libc::proc_fdinfo>() == 8);
const _: () =
    assert!(TCPSI_STATE + 4 <= SOCKET_FDINFO_SIZE && SOCKET_FDINFO_SIZE <= SOCKET_FDINFO_BUF);

/// libc's plain `proc_*` structs: integers and byte arrays only, so any bytes are a valid value.
///
/// # Safety
/// Only for `repr(C)` structs without pointers, references, enums or padding-sensitive invariants.
unsafe trait PlainData: Copy {}
// SAFETY: integer fields and `c_char` arrays only.
unsafe impl PlainData for libc::proc_bsdinfo {}
// SAFETY: integer fields and a `c_char` array only.
unsafe impl PlainData for libc::proc_bsdshortinfo {}
// SAFETY: integer fields only.
unsafe impl PlainData for libc::proc_taskinfo {}

/// `proc_pidinfo(pid, flavor, arg)` into a `T`, only if the kernel filled all of it.
fn pidinfo<T: PlainData>(pid: Pid, flavor: c_int, arg: u64) -> Option<T> {
    let size = c_int::try_from(size_of::<T>()).ok()?;
    let mut out = MaybeUninit::<T>::zeroed();
    // SAFETY: `out` is `size` writable bytes and the kernel writes at most `size` bytes.
    let n = unsafe { libc::proc_pidinfo(pid, flavor, arg, out.as_mut_ptr().cast(), size) };
    // SAFETY: `T: PlainData` is valid for any bytes (and started zeroed); the kernel filled it.
    (n == size).then(|| unsafe { out.assume_init() })
}

/// `PROC_PIDTBSDINFO` for `pid`. With `zombies`, a zombie is found too (`arg` 1 asks the kernel
/// to look among them); without, a zombie is as absent as a reaped process.
fn bsdinfo(pid: Pid, zombies: bool) -> Option<libc::proc_bsdinfo> {
    let b: libc::proc_bsdinfo = pidinfo(pid, libc::PROC_PIDTBSDINFO, u64::from(zombies))?;
    (u32::try_from(pid).ok() == Some(b.pbi_pid)).then_some(b)
}

/// The exact start: µs since the epoch.
fn token_of(b: &libc::proc_bsdinfo) -> Option<u64> {
    b.pbi_start_tvsec
        .checked_mul(1_000_000)?
        .checked_add(b.pbi_start_tvusec)
}

fn is_zombie(b: &libc::proc_bsdinfo) -> bool {
    b.pbi_status == libc::SZOMB
}

/// A NUL-terminated `c_char` array as a string.
fn c_str(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|c| c.to_ne_bytes()[0])
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The long name (`pbi_name`, up to 32 bytes) if one is registered, else `pbi_comm`.
fn name_of(b: &libc::proc_bsdinfo) -> String {
    let name = c_str(&b.pbi_name);
    if name.is_empty() {
        c_str(&b.pbi_comm)
    } else {
        name
    }
}

/// Mach absolute time units per nanosecond, as (numer, denom): 1/1 on Intel, 125/3 on Apple
/// silicon, where `proc_taskinfo`'s CPU times are in those units rather than nanoseconds.
#[allow(deprecated)] // libc points at the mach2 crate for Mach calls; this one is all we need.
fn timebase() -> (u32, u32) {
    static TB: OnceLock<(u32, u32)> = OnceLock::new();
    *TB.get_or_init(|| {
        let mut info = libc::mach_timebase_info { numer: 0, denom: 0 };
        // SAFETY: writes one `mach_timebase_info` through a valid pointer.
        let rc = unsafe { libc::mach_timebase_info(&mut info) };
        if rc == libc::KERN_SUCCESS && info.numer > 0 && info.denom > 0 {
            (info.numer, info.denom)
        } else {
            (1, 1)
        }
    })
}

fn mach_to_duration(t: u64) -> Duration {
    let (numer, denom) = timebase();
    let ns = u128::from(t) * u128::from(numer) / u128::from(denom);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// What `KERN_PROCARGS2` holds besides argc, as byte strings borrowed from its buffer.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProcArgs<'a> {
    argv: Vec<&'a [u8]>,
    env: Vec<&'a [u8]>,
}

/// Parse a `KERN_PROCARGS2` buffer: a native-endian `int` argc, the executable path and its NUL
/// terminator, NUL padding, argc NUL-terminated arguments, then the environment's
/// NUL-terminated `KEY=value` strings up to an empty string (after it come the kernel's own
/// "apple" strings, which are not the environment).
///
/// Never trusts the buffer: a negative or oversized argc, a missing terminator or a buffer cut
/// short yields what was complete (an unterminated last string is dropped), never a panic. An
/// empty `argv[0]` cannot be told from the padding and is lost, as in `ps`.
fn parse_procargs(buf: &[u8]) -> ProcArgs<'_> {
    let mut out = ProcArgs::default();
    let Some((argc, mut rest)) = buf.split_first_chunk::<{ size_of::<c_int>() }>() else {
        return out;
    };
    let Ok(argc) = usize::try_from(c_int::from_ne_bytes(*argc)) else {
        return out;
    };
    // The executable path: known better from `proc_pidpath`.
    if take_c_str(&mut rest).is_none() {
        return out;
    }
    let padding = rest.iter().take_while(|&&b| b == 0).count();
    rest = rest.get(padding..).unwrap_or_default();
    // Each string takes at least its terminator, so a huge argc ends with the buffer.
    for _ in 0..argc {
        match take_c_str(&mut rest) {
            Some(arg) => out.argv.push(arg),
            None => return out,
        }
    }
    while let Some(var) = take_c_str(&mut rest) {
        if var.is_empty() {
            break;
        }
        out.env.push(var);
    }
    out
}

/// The NUL-terminated string at the start of `rest`, moving `rest` past its terminator; `None`
/// (and `rest` untouched) if no terminator is left.
fn take_c_str<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let nul = rest.iter().position(|&b| b == 0)?;
    let (s, tail) = rest.split_at(nul);
    *rest = tail.get(1..).unwrap_or_default();
    Some(s)
}

/// `kern.argmax`: the most a process's arguments and environment can take, and the size of the
/// buffer `KERN_PROCARGS2` wants (it refuses a larger one and cuts to a smaller one).
fn arg_max() -> usize {
    /// `ARG_MAX` of old releases: small enough that the kernel never refuses it.
    const FALLBACK: usize = 256 * 1024;
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
        let mut max: c_int = 0;
        let mut len = size_of::<c_int>();
        // SAFETY: `mib` is 2 names; the old buffer is one writable `c_int` of `len` bytes and
        // the kernel writes at most `len` bytes (storing the count in `len`); nothing is set.
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                2,
                ptr::from_mut(&mut max).cast(),
                &mut len,
                ptr::null_mut(),
                0,
            )
        };
        match usize::try_from(max) {
            Ok(n) if rc == 0 && len == size_of::<c_int>() && (4096..=64 << 20).contains(&n) => n,
            _ => FALLBACK,
        }
    })
}

/// The raw `KERN_PROCARGS2` buffer of `pid`; `None` if it is gone, a zombie, or not ours to read.
fn procargs(pid: Pid) -> Option<Vec<u8>> {
    if pid <= 0 {
        return None;
    }
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
    let names = c_uint::try_from(mib.len()).ok()?;
    let mut buf = vec![0u8; arg_max()];
    let mut len = buf.len();
    // SAFETY: `mib` is `names` names; `buf` is `len` writable bytes and the kernel writes at
    // most `len` bytes (storing the count in `len`); nothing is set.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            names,
            buf.as_mut_ptr().cast(),
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    Some(buf)
}

/// argv of `pid`; empty if it is gone or not ours to read.
fn argv_of(pid: Pid) -> Vec<String> {
    procargs(pid).map_or_else(Vec::new, |buf| {
        parse_procargs(&buf)
            .argv
            .into_iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    })
}

/// The environment of a process (`KEY=value` entries) as it was at exec, where the OS lets us
/// read it: empty for another user's process, a restricted one, or one that has gone.
pub fn environ(pid: Pid) -> Vec<OsString> {
    procargs(pid).map_or_else(Vec::new, |buf| {
        parse_procargs(&buf)
            .env
            .into_iter()
            .map(|v| OsString::from_vec(v.to_vec()))
            .collect()
    })
}

/// The executable of `pid`, from `proc_pidpath`.
fn exe_of(pid: Pid) -> Option<PathBuf> {
    let cap = usize::try_from(libc::PROC_PIDPATHINFO_MAXSIZE).ok()?;
    let mut buf = vec![0u8; cap];
    let size = u32::try_from(buf.len()).ok()?;
    // SAFETY: `buf` is `size` writable bytes; the kernel writes at most that many.
    let got = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), size) };
    let n = usize::try_from(got).ok().filter(|&n| n > 0)?.min(buf.len());
    buf.truncate(n);
    // The count excludes the terminator; stop at a NUL all the same.
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        buf.truncate(nul);
    }
    (!buf.is_empty()).then(|| PathBuf::from(OsString::from_vec(buf)))
}

/// (pid, ppid) of every live process on the machine, zombies left out. The short BSD info needs
/// no privilege, so other users' processes are listed too.
pub fn processes() -> Vec<(Pid, Pid)> {
    list_pids(PROC_ALL_PIDS, 0)
        .into_iter()
        .filter_map(|pid| {
            // Asked without the zombie flag, the kernel finds no zombie; the status says so too.
            let s: libc::proc_bsdshortinfo = pidinfo(pid, libc::PROC_PIDT_SHORTBSDINFO, 0)?;
            (u32::try_from(pid).ok() == Some(s.pbsi_pid) && s.pbsi_status != libc::SZOMB)
                .then(|| (pid, Pid::try_from(s.pbsi_ppid).unwrap_or(0)))
        })
        .collect()
}

/// `sysctlbyname(name)`: the value's bytes, `None` if there is no such name.
fn sysctl_named(name: &CStr) -> Option<Vec<u8>> {
    let mut len: usize = 0;
    // SAFETY: `name` is NUL-terminated; a null old buffer only asks for the size (written to
    // `len`); nothing is set.
    let rc =
        unsafe { libc::sysctlbyname(name.as_ptr(), ptr::null_mut(), &mut len, ptr::null_mut(), 0) };
    if rc != 0 || len == 0 {
        return None;
    }
    // Room to spare, should the value grow in between.
    let mut buf = vec![0u8; len.checked_add(64)?];
    let mut len = buf.len();
    // SAFETY: `name` is NUL-terminated; `buf` is `len` writable bytes and the kernel writes at
    // most `len` bytes (storing the count in `len`); nothing is set.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    Some(buf)
}

/// A string sysctl, whitespace runs folded; `None` if missing or blank.
fn sysctl_string(name: &CStr) -> Option<String> {
    let bytes = sysctl_named(name)?;
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    let folded = String::from_utf8_lossy(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// An integer sysctl (32 or 64 bits).
fn sysctl_u64(name: &CStr) -> Option<u64> {
    let bytes = sysctl_named(name)?;
    if let Ok(b) = <[u8; 8]>::try_from(bytes.as_slice()) {
        Some(u64::from_ne_bytes(b))
    } else {
        <[u8; 4]>::try_from(bytes.as_slice())
            .ok()
            .map(|b| u64::from(u32::from_ne_bytes(b)))
    }
}

/// The machine, in one line for a benchmark table: CPU model, cores, memory, OS and kernel.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = sysctl_string(c"machdep.cpu.brand_string").unwrap_or_else(|| "unknown CPU".into());
    let ram = sysctl_u64(c"hw.memsize").map_or_else(
        || "unknown RAM".into(),
        |b| format!("{:.1} GiB RAM", b as f64 / 1024.0 / 1024.0 / 1024.0),
    );
    // `kern.osproductversion` (the "14.5" of macOS 14.5) exists since 10.13.4.
    let os = sysctl_string(c"kern.osproductversion")
        .map_or_else(|| "macOS".into(), |v| format!("macOS {v}"));
    let kernel = sysctl_string(c"kern.osrelease").unwrap_or_else(|| "?".into());
    format!("{cores} cores ({model}), {ram}, {os}, kernel {kernel}")
}

pub(super) fn proc_info(pid: Pid) -> Option<ProcInfo> {
    // The facts come from several calls; if the PID was reused in between, read again.
    for _ in 0..2 {
        let b = bsdinfo(pid, true)?;
        let start = token_of(&b)?;
        let zombie = is_zombie(&b);
        // A zombie has no task (memory, CPU, threads) and no argv left.
        let task: Option<libc::proc_taskinfo> = if zombie {
            None
        } else {
            pidinfo(pid, libc::PROC_PIDTASKINFO, 0)
        };
        let (cmdline, exe) = if zombie {
            (Vec::new(), None)
        } else {
            (argv_of(pid), exe_of(pid))
        };
        if bsdinfo(pid, true).and_then(|a| token_of(&a)) != Some(start) {
            continue;
        }
        return Some(ProcInfo {
            pid,
            ppid: Pid::try_from(b.pbi_ppid).unwrap_or(0),
            name: name_of(&b),
            start: StartToken(start),
            started: UNIX_EPOCH.checked_add(Duration::from_micros(start)),
            cmdline,
            exe,
            owner: Some(b.pbi_uid),
            rss_bytes: task.map_or(0, |t| t.pti_resident_size),
            cpu: task.map_or(Duration::ZERO, |t| {
                mach_to_duration(t.pti_total_user.saturating_add(t.pti_total_system))
            }),
            threads: task.and_then(|t| u64::try_from(t.pti_threadnum).ok()),
            zombie,
            leads_group: !zombie && unix::leads_group(pid),
        });
    }
    None
}

pub(super) fn start_token(pid: Pid) -> Option<StartToken> {
    bsdinfo(pid, false)
        .filter(|b| !is_zombie(b))
        .and_then(|b| token_of(&b))
        .map(StartToken)
}

/// `proc_listpids(kind, info)`: PIDs of every process (`PROC_ALL_PIDS`) or of one group
/// (`PROC_PGRP_ONLY`), zombies included. Empty on failure.
fn list_pids(kind: u32, info: u32) -> Vec<Pid> {
    const INT: usize = size_of::<c_int>();
    // SAFETY: a null buffer of size 0 only asks for the size needed (in bytes).
    let need = unsafe { libc::proc_listpids(kind, info, ptr::null_mut(), 0) };
    let mut cap = usize::try_from(need).unwrap_or(0) / INT + 64;
    // The table may grow between the calls: a full buffer may have cut it short, so retry.
    for _ in 0..4 {
        let mut pids: Vec<c_int> = vec![0; cap];
        let Ok(size) = c_int::try_from(cap * INT) else {
            return Vec::new();
        };
        // SAFETY: `pids` is `size` writable bytes; the kernel writes at most that many.
        let got = unsafe { libc::proc_listpids(kind, info, pids.as_mut_ptr().cast(), size) };
        let n = usize::try_from(got).unwrap_or(0) / INT;
        if n < cap {
            pids.truncate(n);
            pids.retain(|&p| p > 0);
            return pids;
        }
        cap *= 2;
    }
    Vec::new()
}

pub(super) fn group_members(pgid: Pid) -> Vec<Pid> {
    let Ok(group) = u32::try_from(pgid) else {
        return Vec::new();
    };
    // The short BSD info needs no privilege (other users' members count too) and, asked without
    // the zombie flag, finds no zombie. Re-checking the group closes the window after listing.
    list_pids(PROC_PGRP_ONLY, group)
        .into_iter()
        .filter(|&pid| {
            pidinfo::<libc::proc_bsdshortinfo>(pid, libc::PROC_PIDT_SHORTBSDINFO, 0)
                .is_some_and(|s| s.pbsi_pgid == group && s.pbsi_status != libc::SZOMB)
        })
        .collect()
}

/// The fds of `pid` that are sockets. Empty if it is gone or not ours to look into (EPERM).
fn socket_fds(pid: Pid) -> Vec<c_int> {
    const ENTRY: usize = size_of::<libc::proc_fdinfo>();
    // SAFETY: a null buffer of size 0 only asks for the size needed (in bytes).
    let need = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, ptr::null_mut(), 0) };
    let need = usize::try_from(need).unwrap_or(0);
    if need == 0 {
        return Vec::new();
    }
    let mut cap = need / ENTRY + 16;
    for _ in 0..4 {
        let mut fds = vec![
            libc::proc_fdinfo {
                proc_fd: 0,
                proc_fdtype: 0
            };
            cap
        ];
        let Ok(size) = c_int::try_from(cap * ENTRY) else {
            return Vec::new();
        };
        // SAFETY: `fds` is `size` writable bytes of `proc_fdinfo` entries; the kernel writes at
        // most that many.
        let got = unsafe {
            libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, fds.as_mut_ptr().cast(), size)
        };
        let n = usize::try_from(got).unwrap_or(0) / ENTRY;
        if n < cap {
            fds.truncate(n);
            return fds
                .into_iter()
                .filter(|f| f.proc_fdtype == PROX_FDTYPE_SOCKET)
                .map(|f| f.proc_fd)
                .collect();
        }
        cap *= 2;
    }
    Vec::new()
}

/// Is fd `fd` of `pid` a TCP socket (IPv4 or IPv6) listening on local port `port`?
fn listens_on(pid: Pid, fd: c_int, port: u16, buf: &mut [u8]) -> bool {
    listening_port(pid, fd, buf) == Some(port)
}

/// The port of a listening TCP socket fd of `pid`; `None` for any other fd.
fn listening_port(pid: Pid, fd: c_int, buf: &mut [u8]) -> Option<u16> {
    let size = c_int::try_from(buf.len()).ok()?;
    buf.fill(0);
    // SAFETY: `buf` is `size` writable bytes; the kernel writes one `socket_fdinfo` (no more
    // than `size` bytes, or it refuses).
    let got = unsafe {
        libc::proc_pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO, buf.as_mut_ptr().cast(), size)
    };
    if !matches!(usize::try_from(got), Ok(n) if n >= SOCKET_FDINFO_SIZE) {
        return None;
    }
    let int_at = |off: usize| {
        buf.get(off..off + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_ne_bytes)
    };
    let family = int_at(SOI_FAMILY);
    // The TCP part of the union is only filled when the kind says so.
    let listening = (family == Some(libc::AF_INET) || family == Some(libc::AF_INET6))
        && int_at(SOI_PROTOCOL) == Some(libc::IPPROTO_TCP)
        && int_at(SOI_KIND) == Some(SOCKINFO_TCP)
        && int_at(TCPSI_STATE) == Some(TSI_S_LISTEN);
    listening
        .then(|| int_at(INSI_LPORT))
        .flatten()
        .map(|p| u16::from_be((p & 0xffff) as u16))
}

pub(super) fn listening_ports(pid: Pid) -> Vec<u16> {
    let mut buf = vec![0u8; SOCKET_FDINFO_BUF];
    socket_fds(pid)
        .into_iter()
        .filter_map(|fd| listening_port(pid, fd, &mut buf))
        .collect()
}

/// Every PID, from libproc's list.
pub(super) fn pids() -> Vec<Pid> {
    list_pids(PROC_ALL_PIDS, 0)
        .into_iter()
        .filter(|&pid| pid > 0)
        .collect()
}

/// argv of each PID we may read (`KERN_PROCARGS2`).
pub(super) fn command_lines_of(pids: &[Pid]) -> Vec<(Pid, Vec<String>)> {
    pids.iter()
        .map(|&pid| (pid, argv_of(pid)))
        .filter(|(_, argv)| !argv.is_empty())
        .collect()
}

// SAFETY: two `vnode_info_path`s: integers and byte arrays, valid for any bits.
unsafe impl PlainData for libc::proc_vnodepathinfo {}

/// The current directory, from `PROC_PIDVNODEPATHINFO` (ours to read only).
pub(super) fn cwd(pid: Pid) -> Option<PathBuf> {
    let info: libc::proc_vnodepathinfo = pidinfo(pid, libc::PROC_PIDVNODEPATHINFO, 0)?;
    let bytes: Vec<u8> = info
        .pvi_cdir
        .vip_path
        .iter()
        .flatten()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    (!bytes.is_empty()).then(|| PathBuf::from(OsString::from_vec(bytes)))
}

/// Does something accept TCP connections on the loopback address at `port`?
fn answers_on_loopback(port: u16) -> bool {
    let timeout = Duration::from_millis(250);
    [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]
    .into_iter()
    .any(|ip| TcpStream::connect_timeout(&SocketAddr::new(ip, port), timeout).is_ok())
}

/// The listener of `port`: every visible process's socket fds, through libproc. When several
/// processes share the listening socket (inherited across fork), the oldest is its owner.
pub(super) fn port_holder(port: u16) -> Option<PortHolder> {
    let mut buf = vec![0u8; SOCKET_FDINFO_BUF];
    let mut best: Option<(StartToken, Pid)> = None;
    for pid in list_pids(PROC_ALL_PIDS, 0) {
        if socket_fds(pid)
            .into_iter()
            .any(|fd| listens_on(pid, fd, port, &mut buf))
        {
            if let Some(token) = start_token(pid) {
                if best.is_none_or(|(t, _)| token < t) {
                    best = Some((token, pid));
                }
            }
        }
    }
    if let Some((_, pid)) = best {
        let info = proc_info(pid);
        return Some(PortHolder {
            pid: Some(pid),
            uid: info.as_ref().and_then(|i| i.owner),
            command: info.map(|i| i.cmdline.join(" ")).filter(|c| !c.is_empty()),
        });
    }
    // Another user's sockets are invisible to libproc: if the port answers, say so without a PID.
    answers_on_loopback(port).then_some(PortHolder {
        pid: None,
        uid: None,
        command: None,
    })
}

/// A kqueue with an `EVFILT_PROC`/`NOTE_EXIT` registration: exact exit waits. macOS has no
/// handle to signal through, so signals re-check that the exit was not reported and the start
/// token right before `kill`.
pub(super) struct Handle {
    kq: OwnedFd,
    pid: Pid,
    token: StartToken,
    /// `NOTE_EXIT` arrived (it is delivered once: the kernel deletes the event with it).
    exited: AtomicBool,
}

/// Did this event report the exit? It is the only event registered on our kqueue.
fn is_exit(ev: &Event) -> bool {
    ev.flags().contains(EventFlags::EOF)
        || matches!(ev.filter(), EventFilter::Proc { flags, .. } if flags.contains(ProcessEvents::EXIT))
}

impl Handle {
    /// `None` if the process is already gone (the registration fails with ESRCH) or the kqueue
    /// cannot be made: the caller then polls the identity.
    pub(super) fn open(pid: Pid) -> Option<Handle> {
        let p = rp::Pid::from_raw(pid)?;
        let kq = kqueue::kqueue().ok()?;
        let change = Event::new(
            EventFilter::Proc {
                pid: p,
                flags: ProcessEvents::EXIT,
            },
            EventFlags::ADD,
            ptr::null_mut(),
        );
        let mut no_events: [MaybeUninit<Event>; 0] = [];
        // SAFETY: an EVFILT_PROC registration refers to no file descriptor, so none can outlive
        // the kqueue. With no room for events, a failed registration comes back as an error
        // (ESRCH: no such process) instead of an EV_ERROR event, and the call does not wait.
        unsafe { kqueue::kevent(&kq, &[change], &mut no_events, Some(Duration::ZERO)) }.ok()?;
        // Registered on whatever process has this PID now: remember which one it is.
        let token = start_token(pid)?;
        Some(Handle {
            kq,
            pid,
            token,
            exited: AtomicBool::new(false),
        })
    }

    /// `Some(true)` once the process has exited, `Some(false)` if the timeout passed or the wait
    /// was interrupted, `None` if kevent failed.
    pub(super) fn wait(&self, timeout: Duration) -> Option<bool> {
        if self.exited.load(Ordering::Relaxed) {
            return Some(true);
        }
        let mut events = [MaybeUninit::<Event>::uninit(); 1];
        // SAFETY: no change list, so this call registers no file descriptor.
        match unsafe { kqueue::kevent(&self.kq, &[], &mut events, Some(timeout)) } {
            Ok((got, _)) if got.iter().any(is_exit) => {
                self.exited.store(true, Ordering::Relaxed);
                Some(true)
            }
            // Timed out. A NOTE_EXIT is never expected to be missed, but the exit of a process
            // being traced is reported to its tracer only: trust the start token too.
            Ok(_) => Some(start_token(self.pid) != Some(self.token)),
            Err(Errno::INTR) => Some(false),
            Err(_) => None,
        }
    }

    /// Signal the registered process if it has not exited. Its PID cannot be reused before its
    /// zombie is reaped, which comes after NOTE_EXIT; the start token is re-checked as well.
    pub(super) fn signal(&self, how: Stop) -> bool {
        let alive = match self.wait(Duration::ZERO) {
            Some(exited) => !exited,
            None => start_token(self.pid) == Some(self.token),
        };
        alive && unix::signal_pid(self.pid, how)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `KERN_PROCARGS2` buffer laid out as the kernel does.
    fn procargs_buf(argc: i32, exe: &str, padding: usize, strings: &[&str]) -> Vec<u8> {
        let mut buf = argc.to_ne_bytes().to_vec();
        buf.extend_from_slice(exe.as_bytes());
        buf.resize(buf.len() + 1 + padding, 0);
        for s in strings {
            buf.extend_from_slice(s.as_bytes());
            buf.push(0);
        }
        buf
    }

    #[test]
    fn parses_argv_and_the_environment() {
        let buf = procargs_buf(
            2,
            "/bin/sleep",
            6,
            &["sleep", "30", "A=1", "B=", "", "ptr_munge=", "main_stack="],
        );
        let p = parse_procargs(&buf);
        assert_eq!(p.argv, [b"sleep".as_slice(), b"30"]);
        assert_eq!(p.env, [b"A=1".as_slice(), b"B="]);
        // Empty arguments after argv[0] are kept; no environment at all is fine.
        let buf = procargs_buf(3, "/x", 0, &["x", "", "z"]);
        let p = parse_procargs(&buf);
        assert_eq!(p.argv, [b"x".as_slice(), b"", b"z"]);
        assert!(p.env.is_empty());
    }

    #[test]
    fn a_cut_or_garbage_buffer_yields_what_is_complete() {
        let good = procargs_buf(2, "/bin/sleep", 3, &["sleep", "30", "A=1", ""]);
        for cut in 0..=good.len() {
            let p = parse_procargs(&good[..cut]);
            assert!(p.argv.len() <= 2 && p.env.len() <= 1, "cut at {cut}: {p:?}");
            assert!(p
                .argv
                .iter()
                .all(|a| [b"sleep".as_slice(), b"30"].contains(a)));
            assert!(p.env.iter().all(|v| *v == b"A=1"));
        }
        assert_eq!(parse_procargs(&[]), ProcArgs::default());
        assert_eq!(parse_procargs(&[1, 0]), ProcArgs::default());
        // A negative argc, or no terminator after the executable: nothing.
        assert_eq!(
            parse_procargs(&procargs_buf(-1, "/x", 0, &["x"])),
            ProcArgs::default()
        );
        let mut unterminated = 1i32.to_ne_bytes().to_vec();
        unterminated.extend_from_slice(b"/bin/sleep");
        assert_eq!(parse_procargs(&unterminated), ProcArgs::default());
        // An argc larger than the strings: they are all argv, none the environment.
        let huge = procargs_buf(i32::MAX, "/x", 0, &["x", "A=1", "", ""]);
        let p = parse_procargs(&huge);
        assert_eq!(p.argv, [b"x".as_slice(), b"A=1", b"", b""]);
        assert!(p.env.is_empty());
    }

    proptest! {
        #[test]
        fn any_buffer_parses_without_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
            let p = parse_procargs(&buf);
            let total: usize = p.argv.iter().chain(&p.env).map(|s| s.len() + 1).sum();
            prop_assert!(total <= buf.len());
            prop_assert!(p.argv.iter().chain(&p.env).all(|s| !s.contains(&0)));
        }
    }

    #[test]
    fn a_child_argv_environment_executable_and_parent() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("CMT_PROCARGS_PROBE", "a b=c")
            .spawn()
            .expect("sleep");
        let pid = child.id() as Pid;
        let me = std::process::id() as Pid;
        // `spawn` returns after the exec: argv and the environment are the new program's.
        let argv = argv_of(pid);
        let env = environ(pid);
        let exe = exe_of(pid);
        let listed = processes().contains(&(pid, me));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(argv, ["sleep", "30"]);
        assert!(
            env.iter().any(|v| v == "CMT_PROCARGS_PROBE=a b=c"),
            "{env:?}"
        );
        assert!(exe.is_some_and(|e| e.ends_with("sleep")));
        assert!(listed, "({pid}, {me}) in the process table");
    }

    #[test]
    fn own_argv_is_ours() {
        let me = std::process::id() as Pid;
        let ours: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(argv_of(me), ours);
        assert!(environ(0).is_empty() && environ(-1).is_empty());
    }

    #[test]
    fn describes_the_machine() {
        let line = machine_line();
        assert!(
            line.contains(" cores (") && line.contains(", macOS"),
            "{line}"
        );
        assert!(line.contains("GiB RAM"), "{line}");
        assert!(
            !line.contains("unknown CPU") && !line.ends_with("kernel ?"),
            "{line}"
        );
    }

    #[test]
    fn own_process_facts() {
        let me = std::process::id() as Pid;
        let info = proc_info(me).expect("own info");
        assert_eq!(info.owner, super::super::current_uid());
        assert!(info.threads.unwrap_or(0) >= 1);
        assert!(info.exe.is_some());
        let age = std::time::SystemTime::now()
            .duration_since(info.started.expect("started"))
            .unwrap_or_default();
        assert!(age < Duration::from_secs(3600), "age {age:?}");
    }

    #[test]
    fn a_spawned_group_leader_and_its_group() {
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        unix::detach(&mut cmd);
        let mut child = cmd.spawn().expect("sleep");
        let pid = child.id() as Pid;
        let info = proc_info(pid).expect("child info");
        let members = group_members(pid);
        let _ = child.kill();
        let _ = child.wait();
        assert!(info.leads_group);
        assert_eq!(members, vec![pid]);
        assert!(start_token(pid).is_none());
    }

    #[test]
    fn a_zombie_has_no_token() {
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let pid = child.id() as Pid;
        let h = Handle::open(pid);
        std::thread::sleep(Duration::from_millis(300));
        // Exited, not reaped yet: a zombie.
        assert!(start_token(pid).is_none());
        assert!(proc_info(pid).is_none_or(|i| i.zombie));
        if let Some(h) = h {
            assert_eq!(h.wait(Duration::from_secs(5)), Some(true));
        }
        let _ = child.wait();
    }
}
