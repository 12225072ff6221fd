//! Windows: process HANDLEs for facts, exact waits and TerminateProcess; console control events
//! for graceful stops and shutdown requests; netstat2 for port owners.
//!
//! Windows has no signals, process groups to signal as one, uids or file modes. A process HANDLE
//! keeps its PID from being reused while it is open, so a handle opened and then proven (by the
//! creation time) can never reach a later process. Graceful stops are CTRL_BREAK events, which
//! only reach a process group leader sharing our console.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStringExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
use windows_sys::core::BOOL;
use windows_sys::Wdk::System::Threading::{NtQueryInformationProcess, ProcessBasicInformation};
use windows_sys::Win32::Foundation::{
    SetHandleInformation, FALSE, FILETIME, HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, STILL_ACTIVE,
    TRUE, UNICODE_STRING, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION, FILE_ADD_FILE,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE,
};
use windows_sys::Win32::System::Console::{
    GenerateConsoleCtrlEvent, GetConsoleProcessList, GetStdHandle, SetConsoleCtrlHandler,
    CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, CTRL_C_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
    STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Diagnostics::Debug::ReadProcessMemory;
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, GetProcessTimes, OpenProcess, QueryFullProcessImageNameW, TerminateProcess,
    WaitForSingleObject, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, DETACHED_PROCESS, PEB,
    PROCESS_ACCESS_RIGHTS, PROCESS_BASIC_INFORMATION, PROCESS_NAME_WIN32,
    PROCESS_QUERY_INFORMATION, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    PROCESS_TERMINATE, PROCESS_VM_READ, RTL_USER_PROCESS_PARAMETERS,
};

use super::{Pid, PortHolder, ProcInfo, Shutdown, StartToken, Stop};

/// 100 ns intervals between 1601-01-01 (the FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// How long a CTRL_CLOSE, logoff or shutdown handler holds the process so the app can restore
/// the console and clean up: Windows ends the process when the handler returns, and anyway after
/// about 5 s.
const CLOSE_GRACE: Duration = Duration::from_secs(4);

/// The PID as Windows takes it; `None` for values that are never a process of ours (0 is the
/// idle process, negatives are not PIDs).
fn raw_pid(pid: Pid) -> Option<u32> {
    u32::try_from(pid).ok().filter(|&p| p > 1)
}

/// Open a process with `access`, owning the handle.
fn open_process(pid: Pid, access: PROCESS_ACCESS_RIGHTS) -> Option<OwnedHandle> {
    let pid = raw_pid(pid)?;
    // SAFETY: OpenProcess takes no pointers; it returns null or a new handle that we own.
    let h = unsafe { OpenProcess(access, FALSE, pid) };
    if h.is_null() {
        return None;
    }
    // SAFETY: `h` is a valid process handle just returned to us and owned by nothing else.
    Some(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// A handle for queries, with SYNCHRONIZE when we are allowed it (for an exact liveness check).
fn open_query(pid: Pid) -> Option<(OwnedHandle, bool)> {
    if let Some(h) = open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE) {
        return Some((h, true));
    }
    open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION).map(|h| (h, false))
}

fn filetime(ft: FILETIME) -> u64 {
    (u64::from(ft.dwHighDateTime) << 32) | u64::from(ft.dwLowDateTime)
}

fn hundred_ns(n: u64) -> Duration {
    Duration::new(n / 10_000_000, (n % 10_000_000) as u32 * 100)
}

/// A FILETIME as wall-clock time; `None` before 1970.
fn filetime_to_system(ft: u64) -> Option<SystemTime> {
    let since = ft.checked_sub(FILETIME_UNIX_EPOCH)?;
    UNIX_EPOCH.checked_add(hundred_ns(since))
}

/// Creation time and user + kernel CPU time, in 100 ns units.
struct Times {
    creation: u64,
    cpu: u64,
}

fn times(h: &OwnedHandle) -> Option<Times> {
    let mut creation = FILETIME::default();
    let mut exit = FILETIME::default();
    let mut kernel = FILETIME::default();
    let mut user = FILETIME::default();
    // SAFETY: `h` is a live process handle with query access; the four pointers are to local
    // FILETIMEs that outlive the call.
    let ok = unsafe {
        GetProcessTimes(
            h.as_raw_handle(),
            &mut creation,
            &mut exit,
            &mut kernel,
            &mut user,
        )
    };
    if ok == FALSE {
        return None;
    }
    Some(Times {
        creation: filetime(creation),
        cpu: filetime(kernel).saturating_add(filetime(user)),
    })
}

/// Has the process behind `h` exited? With SYNCHRONIZE this is exact; without it the exit code
/// tells (a process that exited with code 259, STILL_ACTIVE, would look alive).
fn has_exited(h: &OwnedHandle, can_wait: bool) -> bool {
    if can_wait {
        // SAFETY: `h` is a live process handle opened with SYNCHRONIZE.
        let r = unsafe { WaitForSingleObject(h.as_raw_handle(), 0) };
        if r == WAIT_OBJECT_0 {
            return true;
        }
        if r == WAIT_TIMEOUT {
            return false;
        }
    }
    let mut code = 0u32;
    // SAFETY: `h` is a live process handle with query access; `code` outlives the call.
    let ok = unsafe { GetExitCodeProcess(h.as_raw_handle(), &mut code) };
    ok != FALSE && code != STILL_ACTIVE as u32
}

/// The full Win32 path of the process's image.
fn image_path(h: &OwnedHandle) -> Option<PathBuf> {
    let mut buf = vec![0u16; 32 * 1024];
    let mut len = u32::try_from(buf.len()).ok()?;
    // SAFETY: `h` is a live process handle with PROCESS_QUERY_LIMITED_INFORMATION; `buf` holds
    // `len` u16s and `len` outlives the call, which writes at most that many.
    let ok = unsafe {
        QueryFullProcessImageNameW(
            h.as_raw_handle(),
            PROCESS_NAME_WIN32,
            buf.as_mut_ptr(),
            &mut len,
        )
    };
    if ok == FALSE {
        return None;
    }
    buf.truncate(usize::try_from(len).ok()?);
    Some(PathBuf::from(OsString::from_wide(&buf)))
}

/// Read a `T` at `addr` in another process.
///
/// # Safety
/// `T` must be valid for every bit pattern (integers, raw pointers and structs of them).
unsafe fn read_remote<T: Copy>(h: &OwnedHandle, addr: usize) -> Option<T> {
    let mut v = std::mem::MaybeUninit::<T>::uninit();
    let mut n = 0usize;
    // SAFETY: `v` has room for exactly `size_of::<T>()` bytes and `n` outlives the call; a bad
    // `addr` in the other process makes the call fail, never touches our memory.
    let ok = unsafe {
        ReadProcessMemory(
            h.as_raw_handle(),
            addr as *const core::ffi::c_void,
            v.as_mut_ptr().cast(),
            size_of::<T>(),
            &mut n,
        )
    };
    if ok == FALSE || n != size_of::<T>() {
        return None;
    }
    // SAFETY: all `size_of::<T>()` bytes were written, and the caller promises any bits are a
    // valid `T`.
    Some(unsafe { v.assume_init() })
}

/// A handle on `pid` that may read its memory, and the address of its
/// `RTL_USER_PROCESS_PARAMETERS` (from the PEB): where its command line and environment live.
fn process_parameters(pid: Pid) -> Option<(OwnedHandle, *mut RTL_USER_PROCESS_PARAMETERS)> {
    let h = open_process(pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)?;
    // SAFETY: PROCESS_BASIC_INFORMATION is integers and a raw pointer: all zeroes is valid.
    let mut pbi: PROCESS_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
    let mut len = 0u32;
    // SAFETY: `h` is a live process handle with PROCESS_QUERY_INFORMATION; `pbi` and `len`
    // outlive the call, which writes at most the size we pass.
    let status = unsafe {
        NtQueryInformationProcess(
            h.as_raw_handle(),
            ProcessBasicInformation,
            (&raw mut pbi).cast(),
            u32::try_from(size_of::<PROCESS_BASIC_INFORMATION>()).ok()?,
            &mut len,
        )
    };
    if status < 0 || pbi.PebBaseAddress.is_null() {
        return None;
    }
    let peb = pbi.PebBaseAddress as usize;
    // SAFETY: a raw pointer accepts any bits; the address is the other process's, only read
    // through ReadProcessMemory, which fails on a bad one.
    let params: *mut RTL_USER_PROCESS_PARAMETERS =
        unsafe { read_remote(&h, peb + std::mem::offset_of!(PEB, ProcessParameters))? };
    (!params.is_null()).then_some((h, params))
}

/// The command line from the process's PEB (`RTL_USER_PROCESS_PARAMETERS.CommandLine`): the
/// fallback where sysinfo's `ProcessCommandLineInformation` query is unavailable (Wine; Windows
/// before 8.1). Needs PROCESS_VM_READ, so not for elevated or protected processes.
fn peb_command_line(pid: Pid) -> Option<Vec<u16>> {
    let (h, params) = process_parameters(pid)?;
    read_unicode_string(
        &h,
        params as usize + std::mem::offset_of!(RTL_USER_PROCESS_PARAMETERS, CommandLine),
    )
}

/// The current directory from the process's PEB (`CurrentDirectory.DosPath`, at its x64
/// offset, which windows-sys does not name).
#[cfg(target_pointer_width = "64")]
pub(super) fn cwd(pid: Pid) -> Option<PathBuf> {
    const CURRENT_DIRECTORY: usize = 0x38;
    let (h, params) = process_parameters(pid)?;
    let units = read_unicode_string(&h, params as usize + CURRENT_DIRECTORY)?;
    let text = String::from_utf16(&units).ok()?;
    let trimmed = text.trim_end_matches('\\');
    // `C:\` keeps its backslash.
    let dir = if trimmed.ends_with(':') {
        text.as_str()
    } else {
        trimmed
    };
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

#[cfg(not(target_pointer_width = "64"))]
pub(super) fn cwd(_pid: Pid) -> Option<PathBuf> {
    None
}

/// A `UNICODE_STRING` at `addr` in another process, and the UTF-16 text it points to.
fn read_unicode_string(h: &OwnedHandle, addr: usize) -> Option<Vec<u16>> {
    // SAFETY: UNICODE_STRING is integers and a raw pointer, valid for any bits; the address is
    // the other process's, only read through ReadProcessMemory, which fails on a bad one.
    let cmd: UNICODE_STRING = unsafe { read_remote(h, addr)? };
    let units = usize::from(cmd.Length) / 2;
    if units == 0 || cmd.Buffer.is_null() {
        return None;
    }
    let mut buf = vec![0u16; units];
    let mut n = 0usize;
    // SAFETY: `buf` has room for `units` u16s (`cmd.Length` bytes, rounded down to whole units)
    // and `n` outlives the call; a bad address makes it fail.
    let ok = unsafe {
        ReadProcessMemory(
            h.as_raw_handle(),
            cmd.Buffer as *const core::ffi::c_void,
            buf.as_mut_ptr().cast(),
            units * 2,
            &mut n,
        )
    };
    (ok != FALSE && n == units * 2).then_some(buf)
}

/// The environment block from the process's PEB (`RTL_USER_PROCESS_PARAMETERS.Environment` and
/// `EnvironmentSize`, at their x64 offsets, which windows-sys does not name): the fallback where
/// sysinfo cannot read it (Wine). `KEY=value` entries; empty when it cannot be read.
#[cfg(target_pointer_width = "64")]
pub(super) fn peb_environ(pid: Pid) -> Vec<OsString> {
    const ENVIRONMENT: usize = 0x80;
    const ENVIRONMENT_SIZE: usize = 0x3F0;
    const CAP: usize = 256 * 1024;
    let read = || -> Option<Vec<OsString>> {
        let (h, params) = process_parameters(pid)?;
        let params = params as usize;
        // SAFETY: as above.
        let env: usize = unsafe { read_remote(&h, params + ENVIRONMENT)? };
        // SAFETY: as above.
        let size: usize = unsafe { read_remote(&h, params + ENVIRONMENT_SIZE)? };
        if env == 0 {
            return None;
        }
        let bytes = if size == 0 { 32 * 1024 } else { size.min(CAP) } & !1;
        let mut buf = vec![0u16; bytes / 2];
        let mut n = 0usize;
        // SAFETY: `buf` has room for `bytes` bytes and `n` outlives the call.
        let ok = unsafe {
            ReadProcessMemory(
                h.as_raw_handle(),
                env as *const core::ffi::c_void,
                buf.as_mut_ptr().cast(),
                bytes,
                &mut n,
            )
        };
        if ok == FALSE {
            return None;
        }
        buf.truncate(n / 2);
        Some(
            buf.split(|u| *u == 0)
                .take_while(|s| !s.is_empty())
                .map(OsString::from_wide)
                .collect(),
        )
    };
    read().unwrap_or_default()
}

#[cfg(not(target_pointer_width = "64"))]
pub(super) fn peb_environ(_pid: Pid) -> Vec<OsString> {
    Vec::new()
}

/// Split a Windows command line into arguments by the rules of the Microsoft C runtime (as
/// `std::env::args` does): argv[0] ends at the first space or tab outside quotes, with no
/// escapes; then 2n backslashes before a quote are n backslashes and the quote toggles quoting,
/// 2n+1 are n and a literal quote, other backslashes are literal, and `""` inside quotes is a
/// literal quote.
pub(super) fn split_command_line(line: &[u16]) -> Vec<String> {
    const BACKSLASH: u16 = b'\\' as u16;
    const QUOTE: u16 = b'"' as u16;
    let blank = |w: u16| w == u16::from(b' ') || w == u16::from(b'\t');
    let mut out = Vec::new();
    let mut i = 0;
    // argv[0], the program.
    let mut cur: Vec<u16> = Vec::new();
    let mut quoted = false;
    while let Some(&w) = line.get(i) {
        i += 1;
        if w == QUOTE {
            quoted = !quoted;
        } else if blank(w) && !quoted {
            break;
        } else {
            cur.push(w);
        }
    }
    if cur.is_empty() && line.is_empty() {
        return out;
    }
    out.push(String::from_utf16_lossy(&cur));
    while line.get(i).is_some_and(|&w| blank(w)) {
        i += 1;
    }
    cur.clear();
    quoted = false;
    let mut started = false;
    while let Some(&w) = line.get(i) {
        i += 1;
        if blank(w) && !quoted {
            out.push(String::from_utf16_lossy(&cur));
            cur.clear();
            started = false;
            while line.get(i).is_some_and(|&w| blank(w)) {
                i += 1;
            }
            continue;
        }
        started = true;
        if w == BACKSLASH {
            let mut count = 1;
            while line.get(i) == Some(&BACKSLASH) {
                count += 1;
                i += 1;
            }
            if line.get(i) == Some(&QUOTE) {
                cur.extend(std::iter::repeat_n(BACKSLASH, count / 2));
                if count % 2 == 1 {
                    cur.push(QUOTE);
                    i += 1;
                }
            } else {
                cur.extend(std::iter::repeat_n(BACKSLASH, count));
            }
        } else if w == QUOTE {
            if quoted && line.get(i) == Some(&QUOTE) {
                cur.push(QUOTE);
                i += 1;
            } else {
                quoted = !quoted;
            }
        } else {
            cur.push(w);
        }
    }
    if started {
        out.push(String::from_utf16_lossy(&cur));
    }
    out
}

pub(super) fn proc_info(pid: Pid) -> Option<ProcInfo> {
    let (h, can_wait) = open_query(pid)?;
    let t = times(&h)?;
    let zombie = has_exited(&h, can_wait);
    let exe = image_path(&h);
    // While `h` is open the PID cannot be reused, so what sysinfo finds under it is this process.
    let mut sys = System::new();
    let spid = sysinfo::Pid::from_u32(raw_pid(pid)?);
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[spid]),
        true,
        ProcessRefreshKind::nothing()
            .with_memory()
            .with_cmd(UpdateKind::Always)
            .with_exe(UpdateKind::Always),
    );
    let p = sys.process(spid);
    let mut cmdline: Vec<String> = p
        .map(|p| {
            p.cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if cmdline.is_empty() {
        cmdline = peb_command_line(pid)
            .map(|l| split_command_line(&l))
            .unwrap_or_default();
    }
    let exe = exe.or_else(|| p.and_then(|p| p.exe()).map(Path::to_path_buf));
    let name = p
        .map(|p| p.name().to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            exe.as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    Some(ProcInfo {
        pid,
        ppid: p
            .and_then(|p| p.parent())
            .and_then(|q| Pid::try_from(q.as_u32()).ok())
            .unwrap_or(0),
        name,
        start: StartToken(t.creation),
        started: filetime_to_system(t.creation),
        cmdline,
        exe,
        owner: None,
        rss_bytes: p.map_or(0, |p| p.memory()),
        cpu: hundred_ns(t.cpu),
        threads: None,
        zombie,
        leads_group: false,
    })
}

pub(super) fn start_token(pid: Pid) -> Option<StartToken> {
    let (h, can_wait) = open_query(pid)?;
    if has_exited(&h, can_wait) {
        return None;
    }
    times(&h).map(|t| StartToken(t.creation))
}

/// Windows has no process groups to list.
pub(super) fn group_members(_pgid: Pid) -> Vec<Pid> {
    Vec::new()
}

/// Every PID, from the process table.
pub(super) fn pids() -> Vec<Pid> {
    super::processes()
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|&pid| pid > 0)
        .collect()
}

/// argv of each PID whose command line we may read: one process-table refresh for all of them
/// (sysinfo snapshots the whole table even for one PID, so never one refresh per PID), then the
/// PEB for those it could not read (Wine).
pub(super) fn command_lines_of(pids: &[Pid]) -> Vec<(Pid, Vec<String>)> {
    let want: Vec<sysinfo::Pid> = pids
        .iter()
        .filter_map(|&p| raw_pid(p))
        .map(sysinfo::Pid::from_u32)
        .collect();
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&want),
        true,
        ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always),
    );
    pids.iter()
        .filter_map(|&pid| {
            let from_table: Vec<String> = raw_pid(pid)
                .and_then(|r| sys.process(sysinfo::Pid::from_u32(r)))
                .map(|p| {
                    p.cmd()
                        .iter()
                        .map(|a| a.to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let argv = if from_table.is_empty() {
                peb_command_line(pid)
                    .map(|l| split_command_line(&l))
                    .unwrap_or_default()
            } else {
                from_table
            };
            (!argv.is_empty()).then_some((pid, argv))
        })
        .collect()
}

/// The TCP ports `pid` listens on, from the TCP table.
pub(super) fn listening_ports(pid: Pid) -> Vec<u16> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};
    let Ok(want) = u32::try_from(pid) else {
        return Vec::new();
    };
    let Ok(sockets) = netstat2::iterate_sockets_info(
        AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
        ProtocolFlags::TCP,
    ) else {
        return Vec::new();
    };
    sockets
        .filter_map(Result::ok)
        .filter(|s| s.associated_pids.contains(&want))
        .filter_map(|s| match s.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) if t.state == TcpState::Listen => Some(t.local_port),
            _ => None,
        })
        .collect()
}

/// The listener of `port` on any local address (IPv4 or IPv6), from the TCP table.
pub(super) fn port_holder(port: u16) -> Option<PortHolder> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};
    let sockets = netstat2::iterate_sockets_info(
        AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
        ProtocolFlags::TCP,
    )
    .ok()?;
    let listener = sockets.filter_map(Result::ok).find(|s| {
        matches!(&s.protocol_socket_info,
            ProtocolSocketInfo::Tcp(t) if t.local_port == port && t.state == TcpState::Listen)
    })?;
    // PID 0 (the idle process) owns sockets in TIME_WAIT, never a listener of a process.
    let pid = listener
        .associated_pids
        .first()
        .and_then(|&p| Pid::try_from(p).ok())
        .filter(|&p| p > 0);
    let command = pid
        .and_then(proc_info)
        .map(|i| i.cmdline.join(" "))
        .filter(|s| !s.is_empty());
    Some(PortHolder {
        pid,
        uid: None,
        command,
    })
}

/// Is `pid` attached to our console? False when we have none.
fn on_our_console(pid: u32) -> bool {
    let mut buf = vec![0u32; 64];
    for _ in 0..4 {
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: `buf` holds `cap` u32s; the call writes at most that many and returns how many
        // processes there are (more than `cap` when the buffer is too small).
        let n = unsafe { GetConsoleProcessList(buf.as_mut_ptr(), cap) } as usize;
        if n == 0 {
            return false;
        }
        if let Some(list) = buf.get(..n) {
            return list.contains(&pid);
        }
        buf.resize(n + 16, 0);
    }
    false
}

/// CTRL_BREAK to the process group `pgid`. It can only reach a group attached to our console,
/// so for anything else we send nothing and say so: Windows would report success for a detached
/// child of ours without delivering anything (microsoft/terminal#335), and the caller would wait
/// its whole grace period for nothing. True if Windows accepted the event.
///
/// Caution (same issue): for a PID on our console that does *not* lead a group, Windows sends
/// the event to every process on the console, as for group 0; there is no API to tell a group
/// leader from a member beforehand.
fn ctrl_break(pgid: u32) -> bool {
    if !on_our_console(pgid) {
        return false;
    }
    // SAFETY: GenerateConsoleCtrlEvent takes no pointers.
    unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pgid) != FALSE }
}

/// A process HANDLE with SYNCHRONIZE and TERMINATE: while open, its PID cannot be reused.
pub(super) struct Handle {
    h: OwnedHandle,
    pid: u32,
}

impl Handle {
    /// `None` when we may not open the process (another user's, protected): the caller then
    /// polls the identity.
    pub(super) fn open(pid: Pid) -> Option<Handle> {
        let h = open_process(
            pid,
            PROCESS_SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION,
        )?;
        Some(Handle {
            h,
            pid: raw_pid(pid)?,
        })
    }

    /// `Some(true)` once the process has exited, `Some(false)` if the timeout passed, `None` if
    /// the wait failed.
    pub(super) fn wait(&self, timeout: Duration) -> Option<bool> {
        // Whole milliseconds, rounded up so a sub-millisecond rest is not a busy loop; below
        // INFINITE (u32::MAX).
        let ms = u32::try_from(timeout.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u32::MAX - 1)
            .min(u32::MAX - 1);
        // SAFETY: `self.h` is a live process handle opened with SYNCHRONIZE.
        let r = unsafe { WaitForSingleObject(self.h.as_raw_handle(), ms) };
        if r == WAIT_OBJECT_0 {
            Some(true)
        } else if r == WAIT_TIMEOUT {
            Some(false)
        } else {
            None
        }
    }

    /// Force: TerminateProcess through the handle (never a recycled PID). Graceful: CTRL_BREAK
    /// to its group, which reaches it only if it leads a group sharing our console. False once
    /// it has exited.
    pub(super) fn signal(&self, how: Stop) -> bool {
        if self.wait(Duration::ZERO) == Some(true) {
            return false;
        }
        match how {
            // SAFETY: `self.h` is a live process handle opened with PROCESS_TERMINATE.
            Stop::Force => unsafe { TerminateProcess(self.h.as_raw_handle(), 1) != FALSE },
            Stop::Graceful => ctrl_break(self.pid),
        }
    }
}

/// Stop one PID. The caller has just re-checked its identity.
pub(super) fn signal_pid(pid: Pid, how: Stop) -> bool {
    match Handle::open(pid) {
        Some(h) => h.signal(how),
        None => match (how, raw_pid(pid)) {
            (Stop::Graceful, Some(p)) => ctrl_break(p),
            _ => false,
        },
    }
}

/// CTRL_BREAK to a process group; a group cannot be terminated as one.
pub(super) fn signal_group(pgid: Pid, how: Stop) -> bool {
    match (how, raw_pid(pgid)) {
        (Stop::Graceful, Some(p)) => ctrl_break(p),
        _ => false,
    }
}

/// Windows processes end with an exit code, never a signal.
pub(super) fn exit_signal(_status: &ExitStatus) -> Option<i32> {
    None
}

/// Windows has no numeric uids.
pub fn current_uid() -> Option<u32> {
    None
}

/// Windows has no SIGPIPE: a closed pipe is a write error there.
pub fn quiet_on_closed_pipe() {}

/// Windows has no numeric uids.
pub fn user_name(_uid: u32) -> Option<String> {
    None
}

/// This machine's name (`COMPUTERNAME`), as Node's `os.hostname()` gives it there.
pub fn host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok().filter(|s| !s.is_empty())
}

/// Windows files have no numeric owner.
pub fn file_owner(_meta: &fs::Metadata) -> Option<u32> {
    None
}

/// Windows has no mode bits; ACLs are not inspected.
pub fn is_world_writable(_meta: &fs::Metadata) -> bool {
    false
}

/// A number that changes when the file at a path is replaced: its volume serial and file index
/// (`GetFileInformationByHandle`), the inode of NTFS. `None` if it cannot be opened.
pub fn file_id(path: &Path) -> Option<u64> {
    // Attributes only, every share mode: never in the way of the writer.
    let f = OpenOptions::new()
        .access_mode(0)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
        .ok()?;
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is valid plain data.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the call; `info` is a valid out pointer.
    let ok = unsafe { GetFileInformationByHandle(f.as_raw_handle(), &mut info) };
    if ok == 0 {
        return None;
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Some(index ^ (u64::from(info.dwVolumeSerialNumber) << 48))
}

/// Any regular file; which extensions run is PATHEXT's business (the `which` crate).
pub fn is_executable(meta: &fs::Metadata) -> bool {
    meta.is_file()
}

/// Can we create files in this directory? Asks the ACL by opening the directory for
/// FILE_ADD_FILE, without creating anything (a probe file would wake our own watchers).
pub fn dir_writable(dir: &Path) -> bool {
    OpenOptions::new()
        .access_mode(FILE_ADD_FILE)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(dir)
        .and_then(|d| d.metadata())
        .is_ok_and(|m| m.is_dir() && !m.permissions().readonly())
}

/// What kind of non-regular file this is, in words.
pub fn describe_file_type(ft: &fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Open for reading without following a symlink or junction: a reparse point is opened as
/// itself, and the caller's regular-file check on the handle refuses it.
pub fn open_read_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Create (or truncate) a file of ours for writing, never through a symlink.
pub fn open_create_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// No mode bits to set on Windows: the files we write inherit their directory's ACL.
pub fn shared_file_permissions() -> Option<fs::Permissions> {
    None
}

/// Nothing to do: Windows cannot flush a directory, and NTFS journals the rename itself.
pub fn sync_dir(_dir: &Path) {}

/// Open (creating it if missing) a lock file of ours, never through a symlink; others may open
/// it too (the lock itself is `File::try_lock`).
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Make a command start detached: a new process group with no console, so it survives our
/// console closing. (Without a console it cannot receive CTRL_BREAK: stop it over HTTP, then
/// TerminateProcess.)
///
/// Our own standard handles are made non-inheritable first: CreateProcess hands every inheritable
/// handle to the child, and a worker holding the caller's stdout pipe would keep a script's
/// `$(claude-mem-top start)` (or a test) waiting for end-of-file as long as the worker lives. The
/// child's own stdio (the log) is duplicated for it by std and is unaffected.
pub fn detach(cmd: &mut Command) {
    for id in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: GetStdHandle has no preconditions; SetHandleInformation only changes the flag
        // of a handle we own (or fails harmlessly on an invalid one).
        unsafe {
            let h = GetStdHandle(id);
            if !h.is_null() && h != INVALID_HANDLE_VALUE {
                SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
            }
        }
    }
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS | CREATE_NO_WINDOW);
}

unsafe extern "system" fn ignore_handler(ctrl: u32) -> BOOL {
    if ctrl == CTRL_BREAK_EVENT || ctrl == CTRL_C_EVENT {
        TRUE
    } else {
        FALSE
    }
}

/// Ignore CTRL_BREAK and Ctrl-C from now on (the stand-in worker's "ignores stop requests"
/// switch).
pub fn ignore_terminate() {
    // SAFETY: `ignore_handler` is a valid handler for the life of the process.
    unsafe {
        SetConsoleCtrlHandler(Some(ignore_handler), TRUE);
    }
}

/// Where the console control handler forwards shutdown requests; `None` until
/// [`shutdown_signals`] runs, and dead once its thread has stopped.
static SHUTDOWN_TX: Mutex<Option<Sender<Shutdown>>> = Mutex::new(None);
/// Whether [`shutdown_handler`] is registered.
static HANDLER_SET: Mutex<bool> = Mutex::new(false);

unsafe extern "system" fn shutdown_handler(ctrl: u32) -> BOOL {
    let what = match ctrl {
        CTRL_C_EVENT => Shutdown::Interrupt,
        CTRL_BREAK_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => Shutdown::Terminate,
        CTRL_CLOSE_EVENT => Shutdown::Hangup,
        _ => return FALSE,
    };
    let sent = SHUTDOWN_TX
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_some_and(|tx| tx.send(what).is_ok());
    if !sent {
        // Nobody listens any more: let the next handler (the default: exit) act.
        return FALSE;
    }
    if matches!(
        ctrl,
        CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT
    ) {
        // Windows ends the process as soon as this returns: give the app time to restore the
        // console and clean up (it usually exits first, which ends this thread too).
        std::thread::sleep(CLOSE_GRACE);
    }
    TRUE
}

/// Call `f` on a thread of its own for each Ctrl-C (Interrupt), CTRL_BREAK, logoff or shutdown
/// (Terminate) and console close (Hangup), until it returns false.
/// Windows has no job control: nothing suspends a console program from outside.
pub fn suspend_signals(_f: impl FnMut() -> bool + Send + 'static) -> io::Result<()> {
    Ok(())
}

/// Windows has no job control: Ctrl-Z does nothing there.
pub fn stop_self() {}

pub fn shutdown_signals(mut f: impl FnMut(Shutdown) -> bool + Send + 'static) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<Shutdown>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in rx {
                if !f(s) {
                    break;
                }
            }
        })?;
    // The listener is in place before the handler is, so no event finds nobody (a previous
    // listener, if any, ends when its sender is dropped here).
    *SHUTDOWN_TX.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
    let mut set = HANDLER_SET.lock().unwrap_or_else(PoisonError::into_inner);
    if !*set {
        // SAFETY: `shutdown_handler` is a valid handler for the life of the process.
        if unsafe { SetConsoleCtrlHandler(Some(shutdown_handler), TRUE) } == FALSE {
            return Err(io::Error::last_os_error());
        }
        *set = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_converts_to_unix_time() {
        assert_eq!(filetime_to_system(FILETIME_UNIX_EPOCH), Some(UNIX_EPOCH));
        assert_eq!(
            filetime_to_system(FILETIME_UNIX_EPOCH + 10_000_015),
            Some(UNIX_EPOCH + Duration::new(1, 1_500))
        );
        assert_eq!(filetime_to_system(0), None);
        assert_eq!(hundred_ns(25_000_000), Duration::from_millis(2500));
    }

    fn split(s: &str) -> Vec<String> {
        split_command_line(&s.encode_utf16().collect::<Vec<_>>())
    }

    #[test]
    fn command_lines_split_like_the_c_runtime() {
        assert_eq!(
            split(r#""C:\Program Files\bun.exe" run  "a b" c\d"#),
            [r"C:\Program Files\bun.exe", "run", "a b", r"c\d"]
        );
        assert_eq!(
            split(r#"x a\\"b c" d\"e "f""g""#),
            ["x", r#"a\b c"#, r#"d"e"#, r#"f"g"#]
        );
        assert_eq!(split(r#"C:\a\"b c"#), [r#"C:\a\b c"#]);
        assert_eq!(split(r#"p """#), ["p", ""]);
        assert_eq!(split("p a "), ["p", "a"]);
        assert!(split("").is_empty());
    }

    #[test]
    fn a_childs_command_line_is_read() {
        let mut child = super::super::spawn_short_lived();
        let info = proc_info(child.id() as Pid);
        let _ = child.kill();
        let _ = child.wait();
        let info = info.expect("child info");
        assert_eq!(
            info.cmdline.get(1..),
            Some(&["-n", "30", "127.0.0.1"].map(String::from)[..]),
            "{info:?}"
        );
        assert_eq!(info.ppid, std::process::id() as Pid);
    }

    #[test]
    fn own_process_has_a_name_exe_and_cpu() {
        let info = proc_info(std::process::id() as Pid).expect("own info");
        assert!(info.exe.is_some(), "{info:?}");
        assert!(!info.name.is_empty(), "{info:?}");
        let age = SystemTime::now()
            .duration_since(info.started.expect("started"))
            .unwrap_or_default();
        assert!(age < Duration::from_secs(600), "age {age:?}");
    }

    #[test]
    fn an_exited_child_is_a_zombie_while_its_handle_is_open() {
        let mut child = super::super::spawn_short_lived();
        let pid = child.id() as Pid;
        let before = proc_info(pid).expect("child info");
        assert!(!before.zombie);
        assert_eq!(start_token(pid), Some(before.start));
        assert!(signal_pid(pid, Stop::Force));
        let _ = child.wait();
        // `child` still holds its handle, so the process object exists, exited.
        assert!(start_token(pid).is_none());
        if let Some(after) = proc_info(pid) {
            assert!(after.zombie);
            assert_eq!(after.start, before.start);
        }
        drop(child);
    }

    fn ping(flags: u32) -> std::process::Child {
        let mut c = Command::new("ping");
        c.args(["-n", "30", "127.0.0.1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .creation_flags(flags);
        c.spawn().expect("spawn ping")
    }

    #[test]
    fn a_detached_child_gets_no_ctrl_break_and_is_terminated() {
        let mut child = ping(CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS | CREATE_NO_WINDOW);
        let pid = child.id() as Pid;
        let h = Handle::open(pid).expect("handle");
        assert!(
            !h.signal(Stop::Graceful),
            "no console: graceful must report failure"
        );
        assert_eq!(h.wait(Duration::from_millis(50)), Some(false));
        assert!(h.signal(Stop::Force));
        assert_eq!(h.wait(Duration::from_secs(10)), Some(true));
        let _ = child.wait();
        assert!(
            !h.signal(Stop::Force),
            "an exited process is never signalled"
        );
    }

    #[test]
    #[ignore = "needs a console shared with the child, which Wine without a terminal does not \
                give (GetConsoleProcessList: invalid handle); run with --ignored on Windows"]
    fn a_group_leader_on_our_console_gets_ctrl_break() {
        let mut buf = [0u32; 4];
        // SAFETY: `buf` holds 4 u32s.
        let n = unsafe { GetConsoleProcessList(buf.as_mut_ptr(), 4) };
        assert!(n > 0, "this test needs a console");
        let mut child = ping(CREATE_NEW_PROCESS_GROUP);
        let pid = child.id() as Pid;
        let h = Handle::open(pid).expect("handle");
        // Give it time to attach to the console before we look it up there.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !on_our_console(pid as u32) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = h.signal(Stop::Graceful);
        let exited = sent && h.wait(Duration::from_secs(10)) == Some(true);
        let _ = child.kill();
        let _ = child.wait();
        assert!(sent, "CTRL_BREAK to a group leader sharing our console");
        assert!(exited, "ping ends on CTRL_BREAK");
    }

    #[test]
    fn console_events_reach_the_shutdown_callback_until_it_says_stop() {
        let (tx, rx) = mpsc::channel();
        shutdown_signals(move |s| tx.send(s).is_ok()).expect("handler installed");
        // Call the handler as the console would, on this thread.
        // SAFETY: the handler has no preconditions.
        let call = |ctrl| unsafe { shutdown_handler(ctrl) };
        let next = || rx.recv_timeout(Duration::from_secs(5)).ok();
        assert_eq!(call(CTRL_C_EVENT), TRUE);
        assert_eq!(next(), Some(Shutdown::Interrupt));
        assert_eq!(call(CTRL_BREAK_EVENT), TRUE);
        assert_eq!(next(), Some(Shutdown::Terminate));
        assert_eq!(
            call(99),
            FALSE,
            "an unknown event is left to the next handler"
        );
        // A second listener replaces the first; once it returns false, events go to the next
        // handler (the default one, which exits).
        let (tx2, rx2) = mpsc::channel();
        shutdown_signals(move |s| {
            let _ = tx2.send(s);
            false
        })
        .expect("handler installed again");
        assert_eq!(call(CTRL_C_EVENT), TRUE);
        assert_eq!(
            rx2.recv_timeout(Duration::from_secs(5)).ok(),
            Some(Shutdown::Interrupt)
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while call(CTRL_C_EVENT) == TRUE && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(call(CTRL_C_EVENT), FALSE, "nobody listens any more");
    }

    #[test]
    fn a_temp_dir_is_writable_and_a_file_is_not_a_dir() {
        let d = tempfile::tempdir().expect("tempdir");
        assert!(dir_writable(d.path()));
        let f = d.path().join("f");
        fs::write(&f, b"x").expect("write");
        assert!(!dir_writable(&f));
        assert!(!dir_writable(&d.path().join("missing")));
        let lock = open_lock_file(&d.path().join("lock")).expect("lock file");
        let again = open_lock_file(&d.path().join("lock")).expect("opened twice");
        assert!(lock.try_lock().is_ok());
        assert!(again.try_lock().is_err());
    }
}
