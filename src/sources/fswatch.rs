//! File watching with notify: the data dir and `logs/`, non-recursively (never single files:
//! atomic renames swap inodes). A change re-reads the file list and pokes the sources that care.

use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use super::send;
use crate::app::msg::{FileInfo, Msg, Tx};
use crate::config::Config;
use crate::procman::files::{self, JSON_PID_FILE, MARKER_FILE, PID_FILE, PORT_FILE};

/// Who to wake when something changes.
pub struct Pokes {
    pub health: tokio::sync::mpsc::UnboundedSender<()>,
    pub logs: Sender<()>,
    pub db: Sender<()>,
}

pub const DB_FILE: &str = "claude-mem.db";

/// Read the files the Files panel shows.
pub fn read_files(cfg: &Config) -> Vec<FileInfo> {
    let dir = &cfg.data_dir;
    let mut out = Vec::new();
    // A data dir we cannot read hides every file: say so once rather than "absent" each.
    if let Err(e) = std::fs::read_dir(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            out.push(FileInfo {
                name: "data dir".into(),
                present: true,
                value: format!("cannot read: {e}"),
                mtime: None,
                size: None,
            });
            return out;
        }
    }
    for name in [PID_FILE, PORT_FILE, JSON_PID_FILE, MARKER_FILE] {
        let path = dir.join(name);
        let (present, value, mtime) = match files::read_small(&path) {
            Ok(Some(f)) => {
                let v = if name == JSON_PID_FILE {
                    match files::parse_json_pid(&path, &f.text) {
                        Ok(j) => format!(
                            "pid {}{}{}",
                            j.pid,
                            j.port.map(|p| format!(", port {p}")).unwrap_or_default(),
                            if j.start_token.is_some() {
                                ", token"
                            } else {
                                ""
                            }
                        ),
                        Err(_) => "invalid JSON".into(),
                    }
                } else if name == MARKER_FILE {
                    let t = f.text.trim();
                    files::parse_marker(t)
                        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| t.chars().take(30).collect())
                } else {
                    f.text.trim().replace('\n', " / ")
                };
                (true, crate::logs::sanitize(&v), Some(f.mtime))
            }
            Ok(None) => {
                if name == JSON_PID_FILE {
                    continue;
                }
                (false, String::new(), None)
            }
            Err(p) => (true, p.to_string(), None),
        };
        out.push(FileInfo {
            name: name.to_string(),
            present,
            value,
            mtime,
            size: None,
        });
    }
    let log = crate::logs::newest_log(&cfg.logs_dir());
    let meta = log.as_ref().and_then(|l| std::fs::metadata(l).ok());
    out.push(FileInfo {
        name: "log".into(),
        present: log.is_some(),
        value: log
            .as_ref()
            .and_then(|l| l.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        mtime: meta.as_ref().and_then(|m| m.modified().ok()),
        size: meta.map(|m| m.len()),
    });
    let db = dir.join(DB_FILE);
    let meta = std::fs::metadata(&db).ok();
    out.push(FileInfo {
        name: DB_FILE.into(),
        present: meta.is_some(),
        value: String::new(),
        mtime: meta.as_ref().and_then(|m| m.modified().ok()),
        size: meta.map(|m| m.len()),
    });
    out
}

enum Kind {
    State,
    Log,
    Db,
    LogsDir,
    Other,
}

fn classify(path: &Path, data_dir: &Path) -> Kind {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path.parent().unwrap_or(Path::new(""));
    if parent == data_dir {
        match name {
            "logs" => Kind::LogsDir,
            n if n.starts_with(DB_FILE) => Kind::Db,
            PID_FILE
            | PORT_FILE
            | MARKER_FILE
            | JSON_PID_FILE
            | "supervisor.json"
            | ".worker-clean-shutdown" => Kind::State,
            n if n.starts_with(".claude-mem-top.worker") => Kind::State,
            _ => Kind::Other,
        }
    } else if parent == data_dir.join("logs") {
        Kind::Log
    } else {
        Kind::Other
    }
}

/// Whether an event on one of the database's files can mean new rows. Not a change of owner,
/// mode or times: SQLite running as root gives the `-wal` and `-shm` files the database's owner
/// each time it opens them (`fchown`), our own read-only reads included, and counting that as a
/// change had the database re-read twice a second for ever. Not the `-shm` file: it is shared
/// memory, written through a mapping, and says nothing the `-wal` file does not.
fn db_changed(path: &Path, kind: &notify::EventKind) -> bool {
    use notify::event::ModifyKind;
    let shm = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("-shm"));
    !shm && !matches!(
        kind,
        notify::EventKind::Access(_) | notify::EventKind::Modify(ModifyKind::Metadata(_))
    )
}

/// Watch until the channel closes. Bursts are coalesced: after the first event we gather more
/// for a few milliseconds, then act once.
pub fn run(cfg: Config, tx: Tx, pokes: Pokes) {
    let (ntx, nrx) = channel::<notify::Result<notify::Event>>();
    let mut watcher = match notify::recommended_watcher(move |e| {
        let _ = ntx.send(e);
    }) {
        Ok(w) => w,
        Err(e) => {
            send(&tx, Msg::Event(format!("file watching unavailable: {e}")));
            return;
        }
    };
    let data_dir = cfg.data_dir.clone();
    let logs_dir = cfg.logs_dir();
    let mut watching_dir = false;
    let mut watching_logs = false;
    let rewatch = |w: &mut notify::RecommendedWatcher, wd: &mut bool, wl: &mut bool| {
        if !*wd {
            *wd = w.watch(&data_dir, RecursiveMode::NonRecursive).is_ok();
        }
        if !*wl {
            *wl = w.watch(&logs_dir, RecursiveMode::NonRecursive).is_ok();
        }
    };
    rewatch(&mut watcher, &mut watching_dir, &mut watching_logs);
    let mut last_files = read_files(&cfg);
    if !send(&tx, Msg::Files(last_files.clone(), SystemTime::now())) {
        return;
    }
    loop {
        // Without a watch (dir missing), look again every second.
        let wait = if watching_dir && watching_logs {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs(1)
        };
        let first = match nrx.recv_timeout(wait) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut events: Vec<notify::Event> = first.into_iter().filter_map(|e| e.ok()).collect();
        // Coalesce a burst (the WAL changes often) within a fixed window from its first event:
        // waiting for 15 ms of quiet never ends while a worker writes its log every few ms, and
        // the log then showed nothing new for seconds (bench row 7, a steady 200 lines/s).
        let until = Instant::now() + Duration::from_millis(15);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match nrx.recv_timeout(left) {
                Ok(Ok(e)) => events.push(e),
                Ok(Err(_)) => {}
                Err(_) => break,
            }
            if events.len() > 10_000 {
                break;
            }
        }
        let (mut state, mut log, mut db) = (false, false, false);
        for e in &events {
            if matches!(e.kind, notify::EventKind::Access(_)) {
                continue;
            }
            for p in &e.paths {
                match classify(p, &data_dir) {
                    Kind::State => state = true,
                    Kind::Log => log = true,
                    Kind::Db => db |= db_changed(p, &e.kind),
                    Kind::LogsDir => {
                        // logs/ created, removed or renamed: watch it anew.
                        let _ = watcher.unwatch(&logs_dir);
                        watching_logs = false;
                        log = true;
                    }
                    Kind::Other => {}
                }
            }
        }
        if events.iter().any(|e| e.need_rescan()) {
            state = true;
            log = true;
            db = true;
        }
        let had = (watching_dir, watching_logs);
        if !watching_dir || !watching_logs {
            rewatch(&mut watcher, &mut watching_dir, &mut watching_logs);
            if (watching_dir, watching_logs) != had {
                state = true;
                log = true;
                db = true;
            }
        }
        if !watching_dir && !data_dir.exists() {
            // Nothing to watch yet.
            continue;
        }
        if state {
            let _ = pokes.health.send(());
        }
        if log {
            let _ = pokes.logs.send(());
        }
        if db {
            let _ = pokes.db.send(());
        }
        if state || log || db {
            let files = read_files(&cfg);
            if files != last_files {
                last_files = files.clone();
                if !send(&tx, Msg::Files(files, SystemTime::now())) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own read-only reads of a WAL database are not changes of it (as root, SQLite's
    /// `fchown` of the `-wal` and `-shm` files made them look like one); a row written is.
    #[test]
    fn our_reads_of_the_database_are_not_changes_and_a_write_is() {
        let t = tempfile::tempdir().expect("tmp");
        let dir = t.path().canonicalize().expect("canonical");
        let db = dir.join(DB_FILE);
        let writer = rusqlite::Connection::open(&db).expect("open");
        writer
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE observations(id INTEGER);")
            .expect("schema");
        let (ntx, nrx) = channel::<notify::Result<notify::Event>>();
        let mut w = notify::recommended_watcher(move |e| {
            let _ = ntx.send(e);
        })
        .expect("watcher");
        w.watch(&dir, RecursiveMode::NonRecursive).expect("watch");
        // Events up to (and without) the one on `marker`, which is written last: events of
        // one watch arrive in order, so nothing before it can come later.
        let until_marker = |marker: &str| -> Vec<notify::Event> {
            std::fs::write(dir.join(marker), "x").expect("marker");
            let mut out = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                match nrx.recv_timeout(left) {
                    Ok(Ok(e)) if e.paths.iter().any(|p| p.ends_with(marker)) => return out,
                    Ok(Ok(e)) => out.push(e),
                    _ => {}
                }
            }
            panic!("no event for {marker} within 10 s");
        };
        let _ = until_marker("m0");
        for _ in 0..3 {
            assert!(matches!(
                crate::procman::db::read(&db),
                crate::procman::db::DbState::Ok(_)
            ));
        }
        // As `run` counts them: events on the database's files that can mean new rows.
        let counts = |e: &&notify::Event| {
            e.paths
                .iter()
                .any(|p| matches!(classify(p, &dir), Kind::Db) && db_changed(p, &e.kind))
        };
        let ours = until_marker("m1");
        let counted: Vec<_> = ours.iter().filter(counts).collect();
        assert!(
            counted.is_empty(),
            "our reads counted as changes: {counted:?}"
        );
        writer
            .execute("INSERT INTO observations VALUES (1)", [])
            .expect("insert");
        let theirs = until_marker("m2");
        assert!(
            theirs.iter().any(|e| counts(&e)),
            "a written row was not seen: {theirs:?}"
        );
    }

    /// A data dir that cannot be read says so once (not "absent" for each file), and the
    /// database is an error, not "no database yet" (issue 24).
    #[test]
    fn an_unreadable_data_dir_is_named_not_absent() {
        let t = tempfile::tempdir().expect("tmp");
        // A file where the data dir should be: reading it fails, and not with "not found".
        let not_a_dir = t.path().join("data");
        std::fs::write(&not_a_dir, "x").expect("file");
        let cfg = crate::config::Config::load(&crate::config::Overrides {
            data_dir: Some(not_a_dir.clone()),
            port: Some("40123".into()),
            worker_cmd: Some("true".into()),
        })
        .expect("config");
        let files = read_files(&cfg);
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].value.starts_with("cannot read"), "{files:?}");
        // Where the OS says the path through a file is "not found" (Windows) there is no
        // database; where it says "not a directory" (Unix) that is an error to show, naming it.
        let path = not_a_dir.join(DB_FILE);
        let not_found = std::fs::metadata(&path)
            .err()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        let db = crate::procman::db::read(&path);
        match db {
            crate::procman::db::DbState::Missing => assert!(not_found),
            crate::procman::db::DbState::Error(e) => {
                assert!(!not_found && e.contains(DB_FILE), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
}
