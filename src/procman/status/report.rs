//! What a status read says about itself: the labels and exit codes of its states, layouts and
//! layers, the uptime as text, and the report `--json` prints (the schema in
//! `assets/status.schema.json`). The text of `status` and `--once` is `once.rs`'s.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Check, Layer, Layout, State, Status};
use crate::config::PortSource;
use crate::platform::PortHolder;
use crate::procman::api::ApiInfo;
use crate::procman::census::Member;
use crate::procman::files;
use crate::procman::ownership::Elsewhere;
use crate::procman::pipeline::Pipeline;
use crate::procman::pm2::Pm2Leftovers;

/// The version of the `--json` report's schema.
pub const SCHEMA_VERSION: u32 = 1;

impl State {
    /// `status` / `--once` exit codes (LSB-like).
    pub fn exit_code(self) -> u8 {
        match self {
            State::Running => 0,
            State::Stale => 1,
            State::Stopped => 3,
            State::Unknown => 4,
            State::Unhealthy => 150,
            State::Unmanaged => 151,
            State::Taken => 152,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Unhealthy => "UNHEALTHY",
            State::Stale => "STALE",
            State::Stopped => "STOPPED",
            State::Unmanaged => "UNMANAGED",
            State::Taken => "TAKEN",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Spec => "spec",
            Layout::V7 => "7.x",
            Layout::V13 => "13.x",
            Layout::None => "none",
        }
    }
}

impl Layer {
    /// Its name in the `status` text, padded to one width.
    pub fn label(self) -> &'static str {
        match self {
            Layer::PidFile => "PID file",
            Layer::Process => "process ",
            Layer::Http => "/health ",
        }
    }

    /// A short name for narrow panels.
    pub fn short(self) -> &'static str {
        match self {
            Layer::PidFile => "pid",
            Layer::Process => "proc",
            Layer::Http => "http",
        }
    }
}

/// The status as `--json` prints it (the schema in `assets/status.schema.json`).
#[derive(Serialize)]
pub struct Report<'a> {
    schema_version: u32,
    state: State,
    layout: Layout,
    pid: Option<i32>,
    port: u16,
    port_source: &'a PortSource,
    uptime_seconds: Option<u64>,
    started_at: Option<&'a str>,
    healthy: bool,
    checks: &'a [Check],
    #[serde(serialize_with = "files::ser_path")]
    data_dir: &'a Path,
    #[serde(serialize_with = "files::ser_opt_path")]
    pid_file: &'a Option<PathBuf>,
    #[serde(serialize_with = "files::ser_opt_path")]
    log_file: &'a Option<PathBuf>,
    pm2_migrated_at: Option<&'a str>,
    reason: Option<&'a str>,
    command: Option<String>,
    port_holder: Option<&'a PortHolder>,
    elsewhere: Option<&'a Elsewhere>,
    warnings: &'a [String],
    installed_version: Option<&'a str>,
    api: Option<&'a ApiInfo>,
    pm2: Option<&'a Pm2Leftovers>,
    processes: &'a [Member],
    orphans: &'a [Member],
    pipeline: Option<&'a Pipeline>,
    previous_run: Option<&'a crate::procman::history::Run>,
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.report().serialize(s)
    }
}

impl Status {
    /// The report `--json` prints.
    pub fn report(&self) -> Report<'_> {
        Report {
            schema_version: SCHEMA_VERSION,
            state: self.state(),
            layout: self.layout,
            pid: self.pid(),
            port: self.port,
            port_source: &self.port_source,
            uptime_seconds: self.uptime_seconds(),
            started_at: self.started_at(),
            healthy: self.healthy(),
            checks: &self.checks,
            data_dir: &self.data_dir,
            pid_file: &self.pid_file,
            log_file: &self.log_file,
            pm2_migrated_at: self.pm2_migrated_at.as_deref(),
            reason: self.reason(),
            command: self.command(),
            port_holder: self.port_holder.as_ref(),
            elsewhere: self.elsewhere.as_ref(),
            warnings: &self.warnings,
            installed_version: self.installed_version.as_deref(),
            api: self.api.as_ref(),
            pm2: self.pm2.as_ref(),
            processes: &self.processes,
            orphans: &self.orphans,
            pipeline: self.pipeline.as_ref(),
            previous_run: self.previous_run.as_ref(),
        }
    }
}

/// `2h 15m`, `5m 3s`, `4s`, `1d 2h`.
pub fn fmt_uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_formats() {
        assert_eq!(fmt_uptime(5), "5s");
        assert_eq!(fmt_uptime(303), "5m 3s");
        assert_eq!(fmt_uptime(2 * 3600 + 15 * 60), "2h 15m");
        assert_eq!(fmt_uptime(86400 + 7200), "1d 2h");
    }
}
