//! PM2 leftovers of pre-7.1.0 installs, found through files and the process table only: running `pm2` would
//! start a daemon just to look.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::platform;

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
    /// The pm2 daemon (`pm2.pid`), if its process is alive.
    pub daemon_pid: Option<i32>,
    /// `pids/claude-mem-worker-<id>.pid` files.
    pub apps: Vec<Pm2App>,
}

impl Pm2Leftovers {
    /// A live pm2 daemon or a live claude-mem-worker app.
    pub fn active(&self) -> bool {
        self.daemon_pid.is_some() || self.apps.iter().any(|a| a.alive)
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.daemon_pid {
            parts.push(format!("pm2 daemon PID {d}"));
        }
        for a in self.apps.iter().filter(|a| a.alive) {
            parts.push(match a.pid {
                Some(pid) => format!("claude-mem-worker PID {pid}"),
                None => "claude-mem-worker".to_string(),
            });
        }
        format!(
            "{} in {}: run `claude-mem-top migrate` to remove it",
            parts.join(", "),
            self.home.display()
        )
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

fn pm2_like(pid: i32, needle: &str) -> bool {
    platform::proc_info(pid)
        .is_some_and(|p| !p.zombie && p.cmdline.iter().any(|x| x.contains(needle)))
}

/// Look for PM2 leftovers. `None` when there is no PM2 home at all.
pub fn detect(home: Option<&Path>) -> Option<Pm2Leftovers> {
    let dir = pm2_home(home)?;
    if !dir.is_dir() {
        return None;
    }
    let daemon_pid =
        read_pid(&dir.join("pm2.pid")).filter(|p| pm2_like(*p, "PM2") || pm2_like(*p, "pm2"));
    let mut apps = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("pids")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("claude-mem-worker") && name.ends_with(".pid") {
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
    Some(Pm2Leftovers {
        home: dir,
        daemon_pid,
        apps,
    })
}
