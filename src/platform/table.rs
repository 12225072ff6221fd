//! The process table on Linux and Windows, from sysinfo: who exists and who is whose parent. Exact facts
//! about one process (its start token, zombie state, group) come from the OS module; the table is
//! only for walking parent links.

#[cfg(windows)]
use std::ffi::OsString;

#[cfg(windows)]
use sysinfo::UpdateKind;
use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

use super::Pid;

/// (pid, ppid) of every live process on the machine: threads and zombies left out.
pub fn processes() -> Vec<(Pid, Pid)> {
    let mut sys = System::new();
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    sys.processes()
        .iter()
        .filter(|(_, p)| p.thread_kind().is_none())
        .filter(|(_, p)| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
        .filter_map(|(pid, p)| {
            let pid = Pid::try_from(pid.as_u32()).ok()?;
            let ppid = p
                .parent()
                .and_then(|q| Pid::try_from(q.as_u32()).ok())
                .unwrap_or(0);
            Some((pid, ppid))
        })
        .collect()
}

/// The environment of a process (`KEY=value` entries), where the OS lets us read it: empty for
/// another user's process or one that has gone. (Linux reads `/proc/PID/environ` itself.)
#[cfg(windows)]
pub fn environ(pid: Pid) -> Vec<OsString> {
    let Ok(raw) = u32::try_from(pid) else {
        return Vec::new();
    };
    let spid = sysinfo::Pid::from_u32(raw);
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[spid]),
        true,
        ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
    );
    let found = sys
        .process(spid)
        .map(|p| p.environ().to_vec())
        .unwrap_or_default();
    // Wine answers sysinfo's query with nothing: read the PEB instead.
    #[cfg(windows)]
    if found.is_empty() {
        return super::windows::peb_environ(pid);
    }
    found
}
