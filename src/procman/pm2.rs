//! PM2 leftovers of pre-7.1.0 installs, found through files and the process table only: running `pm2` would
//! start a daemon just to look.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::platform;

/// The app name claude-mem used under pm2.
pub const APP: &str = "claude-mem-worker";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pm2App {
    #[serde(serialize_with = "super::files::ser_path")]
    pub pid_file: PathBuf,
    pub pid: Option<i32>,
    pub alive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pm2Leftovers {
    #[serde(serialize_with = "super::files::ser_path")]
    pub home: PathBuf,
    /// The pm2 daemon (`pm2.pid`), if its process is alive and is a pm2 daemon.
    pub daemon_pid: Option<i32>,
    /// `pids/claude-mem-worker-<id>.pid` files.
    pub apps: Vec<Pm2App>,
}

impl Pm2Leftovers {
    /// PIDs of the live claude-mem-worker apps (pm2 removes an app's pid file when it exits).
    pub fn live_apps(&self) -> Vec<i32> {
        self.apps
            .iter()
            .filter(|a| a.alive)
            .filter_map(|a| a.pid)
            .collect()
    }

    /// A live pm2 daemon runs claude-mem-worker: the one case `pm2 delete claude-mem-worker` can
    /// act on (and so the only one `migrate` is advised for).
    pub fn runs_worker(&self) -> bool {
        self.daemon_pid.is_some() && !self.live_apps().is_empty()
    }

    /// Worth a warning: a live claude-mem-worker app, with its daemon or without it. A pm2 daemon
    /// that runs no claude-mem-worker is not claude-mem's business.
    pub fn active(&self) -> bool {
        !self.live_apps().is_empty()
    }

    /// One line for `status`: what runs and the fix that acts on it.
    pub fn describe(&self) -> String {
        let apps = self
            .live_apps()
            .iter()
            .map(|p| format!("PID {p}"))
            .collect::<Vec<_>>()
            .join(", ");
        match self.daemon_pid {
            Some(d) => format!(
                "pm2 daemon PID {d} in {} runs {APP} ({apps}): run `claude-mem-top migrate` to remove it",
                self.home.display()
            ),
            None => format!(
                "{APP} ({apps}) from pm2's {} runs without a pm2 daemon, so pm2 cannot remove it: \
                 check it and stop it (`kill {}`)",
                self.home.join("pids").display(),
                self.live_apps()
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

/// `$PM2_HOME`, else `~/.pm2`.
pub fn pm2_home(home: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os("PM2_HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => home.map(|h| h.join(".pm2")),
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 64 {
        return None;
    }
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 1)
}

/// A live pm2 daemon: its title (`PM2 v7.0.4: God Daemon (/home/me/.pm2)`), or, where the OS
/// still shows the original command line, `node …/pm2/lib/Daemon.js`.
pub fn is_daemon(pid: i32) -> bool {
    platform::proc_info(pid).is_some_and(|p| {
        !p.zombie
            && p.cmdline.iter().any(|a| {
                a.contains("God Daemon")
                    || (a.to_ascii_lowercase().contains("pm2") && a.ends_with("Daemon.js"))
            })
    })
}

/// Look for PM2 leftovers. `None` when there is no PM2 home at all.
pub fn detect(home: Option<&Path>) -> Option<Pm2Leftovers> {
    let dir = pm2_home(home)?;
    if !dir.is_dir() {
        return None;
    }
    Some(detect_in(dir))
}

/// Look at one PM2 home (which exists).
pub fn detect_in(dir: PathBuf) -> Pm2Leftovers {
    let daemon_pid = read_pid(&dir.join("pm2.pid")).filter(|p| is_daemon(*p));
    let mut apps = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("pids")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(APP) && name.ends_with(".pid") {
                let pid = read_pid(&e.path());
                let alive = pid.is_some_and(platform::alive);
                apps.push(Pm2App {
                    pid_file: e.path(),
                    pid,
                    alive,
                });
            }
        }
    }
    apps.sort_by(|a, b| a.pid_file.cmp(&b.pid_file));
    Pm2Leftovers {
        home: dir,
        daemon_pid,
        apps,
    }
}
