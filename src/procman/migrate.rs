//! The one-time PM2 cleanup of claude-mem 7.1.0: `pm2 delete claude-mem-worker` (errors ignored,
//! killed after a bound), then the `.pm2-migrated` marker.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::files::{self, MARKER_FILE};
use super::spawn;
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pm2Outcome {
    NotInstalled,
    Exited(Option<i32>),
    KilledAfterTimeout,
    FailedToRun(String),
}

#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub pm2: Pm2Outcome,
    pub marker_written: Option<String>,
}

/// How long `pm2 delete` may take. `CLAUDE_MEM_TOP_PM2_TIMEOUT` (hidden, for tests) shortens it.
fn pm2_timeout() -> Duration {
    std::env::var("CLAUDE_MEM_TOP_PM2_TIMEOUT")
        .ok()
        .and_then(|v| crate::config::parse_duration(&v))
        .unwrap_or(Duration::from_secs(10))
}

pub fn marker_present(cfg: &Config) -> bool {
    crate::platform::exists(&cfg.path(MARKER_FILE))
}

/// Run the cleanup if the marker is missing. `force` runs pm2 even when it exists (`migrate`);
/// the marker is only written when missing.
pub fn run(cfg: &Config, force: bool) -> std::io::Result<Option<MigrateReport>> {
    let present = marker_present(cfg);
    if present && !force {
        return Ok(None);
    }
    fs::create_dir_all(&cfg.data_dir)?;
    let pm2 = pm2_delete(cfg);
    let marker_written = if present {
        None
    } else {
        let now = files::iso_now();
        files::write_atomic(&cfg.path(MARKER_FILE), now.as_bytes())?;
        Some(now)
    };
    Ok(Some(MigrateReport {
        pm2,
        marker_written,
    }))
}

fn pm2_delete(cfg: &Config) -> Pm2Outcome {
    // CLAUDE_MEM_TOP_PM2 (hidden, for tests) names the pm2 program to use instead of PATH's, so a
    // test suite run on a machine with a real pm2 never talks to it.
    let found = match std::env::var_os("CLAUDE_MEM_TOP_PM2") {
        Some(p) => spawn::which(&p.to_string_lossy()),
        None => spawn::which("pm2"),
    };
    let Some(pm2) = found else {
        return Pm2Outcome::NotInstalled;
    };
    let log: PathBuf = spawn::dated_log(&cfg.logs_dir(), "worker");
    let (out, err) = match spawn::open_append(&log).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
        Err(_) => (Stdio::null(), Stdio::null()),
    };
    if let Ok(mut f) = spawn::open_append(&log) {
        let _ = writeln!(
            f,
            "[{}] [INFO ] [SYSTEM] claude-mem-top: running `pm2 delete claude-mem-worker` (one-time PM2 cleanup)",
            crate::platform::local_now().format("%Y-%m-%d %H:%M:%S%.3f")
        );
    }
    let mut child = match Command::new(pm2)
        .args(["delete", "claude-mem-worker"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Pm2Outcome::FailedToRun(e.to_string()),
    };
    match crate::platform::wait_child(&mut child, pm2_timeout()) {
        Some(st) => Pm2Outcome::Exited(st.code()),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Pm2Outcome::KilledAfterTimeout
        }
    }
}
