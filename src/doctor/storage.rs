//! Doctor checks of what lies on disk: the data dir, the database, the logs, and file times
//! against the clock.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{fail, ok, user_label, warn, Finding, LOGS_WARN_BYTES, WAL_WARN_BYTES};
use crate::config::{fmt_bytes, Config};
use crate::platform;
use crate::procman::files;
use crate::procman::status;

/// File times further ahead than this mean the clock was set back.
const FUTURE_SLACK: Duration = Duration::from_secs(60);

pub(super) fn check_data_dir(cfg: &Config) -> Finding {
    const ID: &str = "data_dir";
    const T: &str = "data dir";
    let dir = &cfg.data_dir;
    let me = platform::current_uid();
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => warn(
            ID,
            T,
            format!("{} does not exist yet", dir.display()),
            "run `claude-mem-top start` (or any claude-mem hook): the first start creates it",
        ),
        Err(e) => fail(
            ID,
            T,
            format!("cannot read {}: {e}", dir.display()),
            &format!("check the permissions of {} and its parents", dir.display()),
        ),
        Ok(m) if !m.is_dir() => fail(
            ID,
            T,
            format!("{} is not a directory", dir.display()),
            &format!(
                "move {} away; the next start creates the directory",
                dir.display()
            ),
        ),
        Ok(m) if !platform::dir_writable(dir) => fail(
            ID,
            T,
            format!(
                "{} is not writable by you ({}); it belongs to {}",
                dir.display(),
                user_label(me),
                user_label(platform::file_owner(&m))
            ),
            &format!("chown -R \"$(id -un)\" {}", dir.display()),
        ),
        Ok(m) if platform::owned_by_other(&m) => warn(
            ID,
            T,
            format!(
                "{} belongs to {}, not to you ({}): files you create there will be yours",
                dir.display(),
                user_label(platform::file_owner(&m)),
                user_label(me)
            ),
            "run claude-mem-top as the owner of the data dir",
        ),
        Ok(m) if platform::is_world_writable(&m) => warn(
            ID,
            T,
            format!("{} is world-writable", dir.display()),
            &format!("chmod o-w {}", dir.display()),
        ),
        Ok(_) => ok(
            ID,
            T,
            format!("{} exists and is writable by you", dir.display()),
        ),
    }
}

pub(super) fn check_database(cfg: &Config) -> Finding {
    use crate::procman::db::DbState;
    const ID: &str = "database";
    const T: &str = "database";
    let db = cfg.path("claude-mem.db");
    match crate::procman::db::read(&db) {
        DbState::Missing | DbState::Loading => ok(
            ID,
            T,
            format!("{} not created yet (the worker creates it)", db.display()),
        ),
        DbState::Busy => warn(
            ID,
            T,
            format!("{} is locked by a writer right now", db.display()),
            "run the doctor again in a moment",
        ),
        DbState::Error(e) => fail(
            ID,
            T,
            format!("cannot read {}: {e}", db.display()),
            &format!(
                "check its owner and permissions; if it is corrupt, restore a copy from {}",
                cfg.path("backups").display()
            ),
        ),
        DbState::Ok(s) => {
            let rows: Vec<String> = s.counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
            let schema = s
                .schema
                .map(|v| format!(", schema {v}"))
                .unwrap_or_default();
            let wal = s.wal_size.unwrap_or(0);
            let msg = format!(
                "readable: {}{schema}; DB {}, WAL {}",
                if rows.is_empty() {
                    "no known tables".into()
                } else {
                    rows.join(", ")
                },
                fmt_bytes(s.size),
                fmt_bytes(wal)
            );
            if wal > WAL_WARN_BYTES {
                warn(
                    ID,
                    T,
                    format!("{msg}: the WAL is large, checkpoints are not keeping up"),
                    "claude-mem-top restart (the worker checkpoints when it shuts down cleanly)",
                )
            } else {
                ok(ID, T, msg)
            }
        }
    }
}

/// Regular files in `dir` (not recursive) with their sizes, largest first.
fn dir_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut v: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    m.is_file().then(|| (e.path(), m.len()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Total bytes of `logs/` (not recursive).
pub fn logs_bytes(cfg: &Config) -> u64 {
    dir_files(&cfg.logs_dir()).iter().map(|(_, n)| n).sum()
}

pub(super) fn check_logs(cfg: &Config) -> Finding {
    const ID: &str = "logs";
    const T: &str = "logs";
    let dir = cfg.logs_dir();
    let list = dir_files(&dir);
    if list.is_empty() {
        return ok(ID, T, format!("{}: no logs yet", dir.display()));
    }
    let total: u64 = list.iter().map(|(_, n)| n).sum();
    let msg = format!(
        "{}: {} in {} file{}",
        dir.display(),
        fmt_bytes(total),
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    if total <= LOGS_WARN_BYTES {
        return ok(ID, T, msg);
    }
    let biggest: Vec<String> = list
        .iter()
        .take(3)
        .map(|(p, n)| {
            format!(
                "{} {}",
                p.file_name()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default(),
                fmt_bytes(*n)
            )
        })
        .collect();
    warn(
        ID,
        T,
        format!(
            "{msg}, above {}; largest: {}",
            fmt_bytes(LOGS_WARN_BYTES),
            biggest.join(", ")
        ),
        &format!(
            "delete old logs: find {} -name '*.log' -mtime +7 -delete",
            dir.display()
        ),
    )
}

pub(super) fn check_clock(cfg: &Config) -> Finding {
    const ID: &str = "clock";
    const T: &str = "clock";
    let now = SystemTime::now();
    let now_utc = chrono::DateTime::<chrono::Utc>::from(now);
    if now_utc.timestamp() < 1_704_067_200 {
        // Before 2024-01-01: no claude-mem install is that old.
        return fail(
            ID,
            T,
            format!("the system clock says {}", files::iso(now_utc)),
            "set the clock (e.g. `timedatectl set-ntp true`)",
        );
    }
    let mut future: Vec<(PathBuf, Duration)> = Vec::new();
    for dir in [cfg.data_dir.clone(), cfg.logs_dir()] {
        for (p, _) in dir_files(&dir) {
            let Ok(m) = std::fs::metadata(&p).and_then(|m| m.modified()) else {
                continue;
            };
            if let Ok(ahead) = m.duration_since(now) {
                if ahead > FUTURE_SLACK {
                    future.push((p, ahead));
                }
            }
        }
    }
    if let Some((p, ahead)) = future.iter().max_by_key(|(_, a)| *a) {
        return warn(
            ID,
            T,
            format!(
                "{} file(s) in the data dir are dated in the future (up to {} ahead: {}); \
                 the clock was set back, and PID-file checks compare these times",
                future.len(),
                status::fmt_uptime(ahead.as_secs()),
                p.display()
            ),
            "fix the clock (`timedatectl set-ntp true`), then restart the worker",
        );
    }
    ok(
        ID,
        T,
        format!(
            "{} UTC; no file in the data dir is dated in the future",
            now_utc.format("%Y-%m-%d %H:%M:%S")
        ),
    )
}
