//! `claude-mem-top doctor`: the 7.1.0 troubleshooting table, automated. Every check reads only
//! (nothing is created, removed or signalled, and pm2 is never run: it would start a daemon) and
//! answers ok / warn / fail with a one-line fix.
//!
//! This file holds the report types, the runner and the text/JSON output; the checks live in
//! `install.rs` (settings, bun, the worker program), `process.rs` (the worker, its PID/port files,
//! the port, PM2) and `storage.rs` (data dir, database, logs, clock).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config, ConfigError, Overrides, PortSource};
use crate::procman::status::{self, StatusOpts};

mod install;
mod pipeline;
mod process;
mod procs;
mod storage;

pub use storage::logs_bytes;

pub const SCHEMA_VERSION: u32 = 1;
/// `logs/` above this is a warning.
pub const LOGS_WARN_BYTES: u64 = 500 * 1024 * 1024;
/// A `-wal` above this means checkpoints are not happening.
pub const WAL_WARN_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Level,
    pub message: String,
    /// One line: what to do. `None` when there is nothing to do.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub data_dir: PathBuf,
    pub port: u16,
    pub port_source: PortSource,
    pub worker_command: String,
    pub summary: Summary,
    pub checks: Vec<Finding>,
}

impl Report {
    /// 0 if nothing failed, else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.summary.fail > 0)
    }
}

fn finding(
    id: &'static str,
    title: &'static str,
    status: Level,
    message: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding {
        id,
        title,
        status,
        message: message.into(),
        fix,
    }
}

fn ok(id: &'static str, title: &'static str, message: impl Into<String>) -> Finding {
    finding(id, title, Level::Ok, message, None)
}

fn warn(id: &'static str, title: &'static str, message: impl Into<String>, fix: &str) -> Finding {
    finding(id, title, Level::Warn, message, Some(fix.to_string()))
}

fn fail(id: &'static str, title: &'static str, message: impl Into<String>, fix: &str) -> Finding {
    finding(id, title, Level::Fail, message, Some(fix.to_string()))
}

/// Load the configuration like every command, but keep going when settings.json (or a port) is
/// broken: that is one of the things the doctor reports. The fallback reads no settings and uses
/// the default port.
pub fn load(o: &Overrides) -> Result<(Config, Option<ConfigError>), ConfigError> {
    let e = match Config::load(o) {
        Ok(c) => return Ok((c, None)),
        Err(e) => e,
    };
    let settings_dir = match &e {
        ConfigError::Settings { path, .. }
        | ConfigError::InvalidPort {
            origin: PortSource::Settings(path),
            ..
        } => path.parent().map(Path::to_path_buf),
        ConfigError::InvalidPort {
            origin: PortSource::Env,
            ..
        } => None,
        _ => return Err(e),
    };
    let port = match &e {
        ConfigError::InvalidPort { .. } => None,
        _ => o.port.clone(),
    };
    let forced = port.is_none();
    let fallback = Overrides {
        // A directory that does not exist: no settings.json is read from it.
        data_dir: settings_dir
            .as_ref()
            .map(|d| d.join(".claude-mem-top-doctor-no-such-dir"))
            .or_else(|| o.data_dir.clone()),
        port: port.or_else(|| Some(config::DEFAULT_PORT.to_string())),
        worker_cmd: o.worker_cmd.clone(),
    };
    let mut cfg = Config::load(&fallback)?;
    if let Some(d) = settings_dir {
        cfg.data_dir = d;
    }
    if forced {
        cfg.port_source = PortSource::Default;
    }
    Ok((cfg, Some(e)))
}

/// Run every check.
pub fn run(
    cfg: &Config,
    config_error: Option<&ConfigError>,
    stall_after: std::time::Duration,
) -> Report {
    let opts = StatusOpts {
        stall_after,
        ..StatusOpts::display()
    };
    let st = status::status(cfg, opts);
    let mut checks = vec![
        storage::check_data_dir(cfg),
        install::check_settings(cfg, config_error),
        install::check_bun(cfg),
        install::check_worker_program(cfg),
        process::check_worker(&st),
        process::check_pid_files(cfg, &st),
        process::check_port(cfg, &st),
        process::check_pm2(cfg),
        process::check_marker(cfg, &st),
        procs::check_unmanaged(&st),
        procs::check_other_workers(&st),
        procs::check_duplicates(&st),
        procs::check_wedged(&st),
        procs::check_orphans(&st),
        procs::check_memory(&st),
        storage::check_database(cfg),
        storage::check_logs(cfg),
        storage::check_clock(cfg),
    ];
    checks.extend(pipeline::check_all(&st));
    let mut summary = Summary::default();
    for c in &checks {
        match c.status {
            Level::Ok => summary.ok += 1,
            Level::Warn => summary.warn += 1,
            Level::Fail => summary.fail += 1,
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        data_dir: cfg.data_dir.clone(),
        port: st.port,
        port_source: cfg.port_source.clone(),
        worker_command: cfg.worker.display(),
        summary,
        checks,
    }
}

/// `user (uid N)`, from /etc/passwd when it knows the uid.
pub fn user_label(uid: Option<u32>) -> String {
    let Some(uid) = uid else {
        return "another user".into();
    };
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
    });
    match name {
        Some(n) => format!("user {n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

/// The report as text: one line per check, its fix under it.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "claude-mem-top doctor: data dir {}, port {} ({})",
        r.data_dir.display(),
        r.port,
        r.port_source
    );
    let width = r.checks.iter().map(|c| c.title.len()).max().unwrap_or(0);
    for c in &r.checks {
        let _ = writeln!(
            s,
            "  {:<4}  {:<width$}  {}",
            c.status.label(),
            c.title,
            crate::logs::sanitize(&c.message)
        );
        if let Some(f) = &c.fix {
            let _ = writeln!(s, "  {:<4}  {:<width$}  fix: {f}", "", "");
        }
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        s,
        "{} failed, {}, {} ok",
        r.summary.fail,
        plural(r.summary.warn, "warning"),
        r.summary.ok
    );
    s
}

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name() {
        assert!(user_label(Some(0)).starts_with("user root"));
    }
}
