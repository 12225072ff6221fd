//! The I/O: state files, the database, the logs and `/api/chroma/status`.

use std::path::Path;

use super::*;
use crate::config::Config;
use crate::procman::{files, health};

/// A state file as JSON text: `Ok(None)` when absent.
fn read_state(dir: &Path, name: &str) -> Result<Option<String>, ReadError> {
    match files::read_capped(&dir.join(name), STATE_FILE_CAP) {
        Ok(None) => Ok(None),
        Ok(Some(f)) => Ok(Some(f.text)),
        Err(p) => Err(ReadError::File(p)),
    }
}

/// The hooks' threshold: the environment, else settings.json, else 3.
pub fn hook_threshold(cfg: &Config) -> u64 {
    let env = std::env::var(HOOK_THRESHOLD_KEY).ok();
    let set = || {
        crate::config::settings_value(&cfg.settings_path(), HOOK_THRESHOLD_KEY)
            .ok()
            .flatten()
    };
    parse_threshold(env.or_else(set).as_deref())
}

/// The newest two dated logs (today's and yesterday's, around midnight), oldest first.
fn recent_logs(logs_dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(logs_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, std::path::PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let date = crate::logs::log_date(&name)?.to_string();
            e.file_type().ok()?.is_file().then(|| (date, e.path()))
        })
        .collect();
    found.sort();
    let keep = found.len().saturating_sub(2);
    found.drain(..keep);
    found.into_iter().map(|(_, p)| p).collect()
}

/// Worker starts and mismatch kills in the last hour.
pub fn read_restarts(logs_dir: &Path) -> Option<Restarts> {
    let logs = recent_logs(logs_dir);
    if logs.is_empty() {
        return None;
    }
    let since = crate::platform::local_now().naive_local()
        - chrono::Duration::from_std(FLAP_WINDOW).unwrap_or_default();
    let window_start = std::time::SystemTime::now() - FLAP_WINDOW;
    let mut total = Restarts::default();
    for l in logs {
        // Not written within the hour: nothing in it counts.
        let fresh = std::fs::metadata(&l)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= window_start);
        if !fresh {
            continue;
        }
        let r = count_in(&l, since);
        total.starts_last_hour += r.starts_last_hour;
        total.version_mismatches_last_hour += r.version_mismatches_last_hour;
    }
    Some(total)
}

/// How much of a log the restart count reads at a time.
pub(super) const LOG_BLOCK: usize = crate::logs::backward::BLOCK;

/// Count in one log, reading it backwards from its end a block at a time, only as far back as
/// the hour goes: until a block holds a line older than `since`, the file's start, or
/// [`LOG_TAIL_BYTES`]. One block's memory, whatever the log's size; each byte read once.
pub(super) fn count_in(path: &Path, since: chrono::NaiveDateTime) -> Restarts {
    let mut total = Restarts::default();
    let floor = std::fs::metadata(path)
        .map(|m| m.len().saturating_sub(LOG_TAIL_BYTES))
        .unwrap_or(0);
    let _ = crate::logs::backward::blocks(path, floor, LOG_BLOCK, |lines, _| {
        let r = count_restarts(lines, since);
        total.starts_last_hour += r.starts_last_hour;
        total.version_mismatches_last_hour += r.version_mismatches_last_hour;
        if first_time(lines, 1000).is_some_and(|t| t < since) {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    total
}

/// `/api/chroma/status`'s answer: `Ok(None)` when this version has no such endpoint.
fn chroma_of(p: health::Probe) -> Result<Option<Chroma>, ReadError> {
    match p.result {
        Ok(r) if r.status == 404 => Ok(None),
        Ok(r) if r.status == 200 || r.status == 503 => r
            .json()
            .as_ref()
            .and_then(parse_chroma)
            .map(Some)
            .ok_or_else(|| ReadError::Chroma("not the expected JSON".into())),
        Ok(r) => Err(ReadError::Chroma(format!("HTTP {}", r.status))),
        Err(e) => Err(ReadError::Chroma(e.to_string())),
    }
}

/// What [`complete`] needs from the status read before it.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// `/api/health`'s dependencies, as `api::read` parsed them.
    pub dependencies: Option<&'a Dependencies>,
    /// `/api/chroma/status`'s answer, asked with the API (`None`: no worker answered HTTP).
    pub chroma: Option<&'a health::Probe>,
    pub running_version: Option<&'a str>,
    pub installed_version: Option<&'a str>,
    pub stall_after: Duration,
}

/// What the pipeline reads from disk alone (the state files, the database, the logs): nothing
/// in it waits on the worker, so `status` reads it while the worker answers.
#[derive(Debug, Clone, Default)]
pub struct Local(Pipeline);

/// Add the worker's answers to what was read from disk, and evaluate it.
pub fn complete(local: Local, inp: Inputs<'_>) -> Pipeline {
    let mut p = Pipeline {
        dependencies: inp.dependencies.cloned(),
        stall_after_seconds: inp.stall_after.as_secs(),
        versions: Versions {
            running: inp.running_version.map(str::to_string),
            installed: inp.installed_version.map(str::to_string),
        },
        ..local.0
    };
    if let Some(probe) = inp.chroma {
        match chroma_of(probe.clone()) {
            Ok(c) => p.chroma = c,
            // Chroma's note first, as the worker's answers come before the files.
            Err(e) => p.notes.insert(0, e.to_string()),
        }
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    evaluate(&mut p, inp.stall_after, now_ms);
    p
}

/// The state files, the database and the logs.
pub fn read_local(cfg: &Config) -> Local {
    let mut p = Pipeline::default();
    read_files(cfg, &mut p);
    Local(p)
}

fn read_files(cfg: &Config, p: &mut Pipeline) {
    let dir = &cfg.data_dir;
    match read_state(dir, OBSERVER_HEALTH_FILE)
        .and_then(|t| t.map(|t| parse_observer(&t)).transpose())
    {
        Ok(o) => p.observer = o,
        Err(e) => p.notes.push(e.to_string()),
    }
    let threshold = hook_threshold(cfg);
    match read_state(dir, HOOK_FAILURES_FILE)
        .and_then(|t| t.map(|t| parse_hooks(&t, threshold)).transpose())
    {
        Ok(h) => p.hooks = h,
        Err(e) => p.notes.push(e.to_string()),
    }
    match crate::procman::db::prompt_flow(&cfg.path("claude-mem.db")) {
        Ok(a) => p.activity = a,
        Err(e) => p.notes.push(ReadError::Db(e).to_string()),
    }
    p.restarts = read_restarts(&cfg.logs_dir());
}
