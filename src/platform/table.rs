//! The process table on every OS, from sysinfo: who exists and who is whose parent. Exact facts
//! about one process (its start token, zombie state, group) come from the OS module; the table is
//! only for walking parent links.

use std::ffi::OsString;

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

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
/// another user's process or one that has gone.
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
    sys.process(spid)
        .map(|p| p.environ().to_vec())
        .unwrap_or_default()
}

/// Every live descendant of `root` (children, grandchildren…), by walking parent links.
pub fn descendants(root: Pid) -> Vec<Pid> {
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

#[cfg(test)]
pub(crate) mod tests_support {
    /// A child that lives until it is killed (or 30 s pass).
    pub fn spawn_short_lived() -> std::process::Child {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_parent_links_and_ignores_cycles() {
        let t = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 6), (7, 4)];
        assert_eq!(descendants_in(&t, 2), vec![3, 4, 7]);
        assert_eq!(descendants_in(&t, 6), Vec::<Pid>::new());
        assert!(descendants_in(&t, 99).is_empty());
    }

    #[test]
    fn finds_a_child_of_ours() {
        let mut child = tests_support::spawn_short_lived();
        let me = std::process::id() as Pid;
        let kid = child.id() as Pid;
        let found = descendants(me).contains(&kid);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found, "child {kid} among our descendants");
        assert!(processes().iter().any(|&(p, _)| p == me));
    }
}
