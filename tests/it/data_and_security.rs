//! Fault suite, files and data (database, logs) and security cases, against the real reader code,
//! real SQLite files and the real binary in a pseudo-terminal.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

#[allow(unused_imports)]
use crate::common;
#[cfg(unix)]
#[allow(unused_imports)]
use crate::support_pty;

use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[cfg(unix)]
use crate::common::setpriv_available;
use crate::common::{wait_listening, Env, BIN};
#[cfg(unix)]
use crate::support_pty::Pty;
use claude_mem_top::procman::db::{self, DbState};

const T: Duration = Duration::from_secs(15);

/// A test's world whose data dir exists from the start (the DB and logs are put there), with the
/// stand-in at `--log-rate 2` as the worker command.
fn new_env() -> Env {
    let env = Env::new().with_args("--log-rate 2");
    env.make_dir();
    env
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn make_db(path: &Path, wal: bool) {
    let c = rusqlite_conn(path);
    if wal {
        c.execute_batch("PRAGMA journal_mode=WAL;").expect("wal");
    }
    c.execute_batch(
        "CREATE TABLE observations (id INTEGER PRIMARY KEY, created_at_epoch INTEGER);
         CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY);
         CREATE TABLE pending_messages (id INTEGER PRIMARY KEY, status TEXT);
         INSERT INTO observations (created_at_epoch) VALUES (1764000000000), (1764000100000);
         INSERT INTO sdk_sessions DEFAULT VALUES;
         INSERT INTO pending_messages (status) VALUES ('pending'), ('failed'), ('pending');",
    )
    .expect("schema");
}

fn rusqlite_conn(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open writer")
}

fn counts(s: &DbState) -> Vec<(String, u64)> {
    match s {
        DbState::Ok(st) => st.counts.clone(),
        other => panic!("expected counts, got {other:?}"),
    }
}

#[test]
fn db_missing_is_not_created() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("claude-mem.db");
    assert_eq!(db::read(&p), DbState::Missing);
    assert!(
        listing(d.path()).is_empty(),
        "nothing created: {:?}",
        listing(d.path())
    );
}

#[test]
fn db_empty_file_and_random_bytes() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("claude-mem.db");
    std::fs::write(&p, b"").expect("empty");
    assert!(
        matches!(db::read(&p), DbState::Ok(s) if s.counts.is_empty()),
        "an empty file has no tables"
    );
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&p, &noise).expect("noise");
    match db::read(&p) {
        DbState::Error(e) => assert!(e.contains("not a database"), "{e}"),
        other => panic!("random bytes: {other:?}"),
    }
    assert_eq!(
        std::fs::read(&p).expect("read"),
        noise,
        "left byte-identical"
    );
    assert_eq!(listing(d.path()), ["claude-mem.db"]);
}

#[test]
fn db_rollback_journal_held_exclusively_reads_busy_and_never_blocks_the_writer() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("claude-mem.db");
    make_db(&p, false);
    let w = rusqlite_conn(&p);
    w.execute_batch("BEGIN EXCLUSIVE; INSERT INTO observations (created_at_epoch) VALUES (1);")
        .expect("exclusive");
    assert_eq!(db::read(&p), DbState::Busy);
    // The writer was never held up: it commits at once.
    w.execute_batch("COMMIT;").expect("commit after our read");
    assert_eq!(counts(&db::read(&p))[0], ("observations".to_string(), 3));
}

#[test]
fn db_wal_with_live_writer_counts_read() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("claude-mem.db");
    make_db(&p, true);
    let w = rusqlite_conn(&p);
    w.execute_batch("INSERT INTO observations (created_at_epoch) VALUES (1764000200000);")
        .expect("write");
    let before = listing(d.path());
    let s = db::read(&p);
    assert_eq!(counts(&s)[0], ("observations".to_string(), 3));
    match &s {
        DbState::Ok(st) => {
            assert!(st.wal_size.is_some_and(|w| w > 0), "WAL size shown");
            assert_eq!(
                st.pending,
                [("failed".to_string(), 1), ("pending".to_string(), 2)]
            );
        }
        _ => unreachable!(),
    }
    assert_eq!(listing(d.path()), before);
}

// Unix directory permissions.
#[cfg(unix)]
#[test]
fn db_wal_without_side_files_in_a_read_only_dir_is_read_immutable_and_untouched() {
    let d = tempfile::tempdir().expect("tmp");
    let sub = d.path().join("ro");
    std::fs::create_dir(&sub).expect("dir");
    let p = sub.join("claude-mem.db");
    make_db(&p, true);
    // Close the writer: SQLite checkpoints and removes -wal/-shm; the file stays in WAL mode.
    assert_eq!(listing(&sub), ["claude-mem.db"]);
    let bytes = std::fs::read(&p).expect("read");
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let s = db::read(&p);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
    assert_eq!(counts(&s)[0], ("observations".to_string(), 2));
    assert_eq!(
        listing(&sub),
        ["claude-mem.db"],
        "no -wal, -shm or -journal created"
    );
    assert_eq!(std::fs::read(&p).expect("read"), bytes, "byte-identical");
}

// Drives the dashboard in a pseudo-terminal (Unix).
#[cfg(unix)]
#[test]
fn dashboard_leaves_the_db_byte_identical() {
    let env = new_env();
    let p = env.path("claude-mem.db");
    make_db(&p, true);
    let bytes = std::fs::read(&p).expect("read");
    let before = listing(&env.dir);
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("the DB counts", T, |s| s.contains("observations 2"));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert_eq!(std::fs::read(&p).expect("read"), bytes);
    assert_eq!(listing(&env.dir), before);
}

fn logs_dir(d: &Path) -> PathBuf {
    let l = d.join("logs");
    std::fs::create_dir_all(&l).expect("logs");
    l
}

// Drives the dashboard in a pseudo-terminal (Unix).
#[cfg(unix)]
#[test]
fn hostile_log_content_never_reaches_the_terminal() {
    let env = new_env();
    let logs = logs_dir(&env.dir);
    let mut body: Vec<u8> = Vec::new();
    body.extend_from_slice(
        b"[2026-11-25 10:00:00.000] [INFO ] [SYSTEM] invalid utf8 \xff\xfe here\n",
    );
    body.extend_from_slice(b"[2026-11-25 10:00:00.001] [INFO ] [SYSTEM] nul \x00 byte\n");
    body.extend_from_slice(b"[2026-11-25 10:00:00.002] [WARN ] [SYSTEM] osc \x1b]0;EVILTITLE\x07 and csi \x1b[2J\x1b[31m red\n");
    body.extend_from_slice(b"cr-only one\rcr-only two\r");
    body.extend_from_slice(b"[2026-11-25 10:00:00.003] [INFO ] [SYSTEM] ");
    body.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    body.extend_from_slice(b"\n[2026-11-25 10:00:00.004] [ERROR] [SYSTEM] LAST-LINE-MARKER\n");
    std::fs::write(logs.join("worker-2026-11-25.log"), &body).expect("log");
    std::fs::write(logs.join("worker-2026-11-24.log"), b"").expect("empty older log");

    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    let s = pty.wait_for("the last line", T, |s| s.contains("LAST-LINE-MARKER"));
    assert!(s.contains("^[]0;EVILTITLE^G"), "OSC shown as text:\n{s}");
    assert!(
        s.contains("cr-only one") && s.contains("cr-only two"),
        "CR-only line ends split:\n{s}"
    );
    assert!(
        s.contains("nul ^@ byte")
            && s.lines()
                .any(|l| l.contains("invalid utf8") && l.contains(" here")),
        "{s}"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    let raw = pty.raw_text();
    assert!(
        !raw.contains("\u{1b}]0;EVILTITLE"),
        "the OSC sequence never reached the terminal"
    );
    assert!(
        !raw.contains("\u{1b}[2J\u{1b}[31m"),
        "the log's CSI never reached the terminal"
    );
}

fn append(p: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .expect("open log");
    writeln!(f, "{line}").expect("append");
}

// Drives the dashboard in a pseudo-terminal (Unix).
#[cfg(unix)]
#[test]
fn log_truncation_rotation_new_day_and_recreated_logs_dir() {
    let env = new_env();
    let logs = logs_dir(&env.dir);
    let today = logs.join("worker-2026-11-25.log");
    append(
        &today,
        "[2026-11-25 10:00:00.000] [INFO ] [SYSTEM] FIRST-LINE",
    );
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("first line", T, |s| s.contains("FIRST-LINE"));

    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&today)
        .expect("truncate");
    append(
        &today,
        "[2026-11-25 10:00:01.000] [INFO ] [SYSTEM] AFTER-TRUNCATE",
    );
    pty.wait_for("line after truncation", T, |s| s.contains("AFTER-TRUNCATE"));

    std::fs::rename(&today, logs.join("worker-2026-11-25.log.1")).expect("rotate");
    append(
        &today,
        "[2026-11-25 10:00:02.000] [INFO ] [SYSTEM] AFTER-ROTATE",
    );
    pty.wait_for("line after rotation", T, |s| {
        s.contains("AFTER-ROTATE") && s.contains("rotated")
    });

    append(
        &logs.join("worker-2026-11-26.log"),
        "[2026-11-26 00:00:00.000] [INFO ] [SYSTEM] NEW-DAY",
    );
    pty.wait_for("the new day's file", T, |s| {
        s.contains("NEW-DAY") && s.contains("worker-2026-11-26.log")
    });

    std::fs::remove_dir_all(&logs).expect("rm logs");
    std::fs::create_dir(&logs).expect("recreate logs");
    append(
        &logs.join("worker-2026-11-26.log"),
        "[2026-11-26 00:00:01.000] [INFO ] [SYSTEM] RECREATED-DIR",
    );
    pty.wait_for("a line in the recreated logs/", T, |s| {
        s.contains("RECREATED-DIR")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

// Drives the dashboard in a pseudo-terminal (Unix).
#[cfg(unix)]
#[test]
fn a_1_gib_log_is_read_from_its_end() {
    let env = new_env();
    let logs = logs_dir(&env.dir);
    let p = logs.join("worker-2026-11-25.log");
    let f = std::fs::File::create(&p).expect("create");
    // Sparse: 1 GiB of holes, then real lines at the end (no disk used for the holes).
    f.set_len(1 << 30).expect("set_len");
    drop(f);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .expect("append");
    for i in 0..5000 {
        writeln!(
            f,
            "[2026-11-25 10:00:00.000] [INFO ] [SYSTEM] big-log line {i}"
        )
        .expect("write");
    }
    drop(f);
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("the last line of the 1 GiB log", T, |s| {
        s.contains("big-log line 4999")
    });
    let hwm =
        claude_mem_top::platform::peak_rss_bytes(pty.child.id() as i32).expect("peak RSS") / 1024;
    assert!(
        hwm < 100 * 1024,
        "peak RSS {hwm} kB: the log must be read from its end, not whole"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

#[test]
fn non_loopback_host_in_settings_is_refused() {
    let env = new_env();
    std::fs::write(
        env.path("settings.json"),
        r#"{"env": {"CLAUDE_MEM_WORKER_HOST": "10.1.2.3"}}"#,
    )
    .expect("settings");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.text());
    assert!(
        out.text().contains("10.1.2.3") && out.text().contains("loopback"),
        "{}",
        out.text()
    );
    std::fs::write(
        env.path("settings.json"),
        r#"{"CLAUDE_MEM_WORKER_HOST": "::1"}"#,
    )
    .expect("settings");
    assert_eq!(env.run(&["status"]).status.code(), Some(3));
}

// Unix permissions, and the dashboard in a pseudo-terminal.
#[cfg(unix)]
#[test]
fn world_writable_data_dir_and_pid_file_warn() {
    // A plain tempdir as the data dir: the header names it twice and must still show the whole
    // warning at 120 columns.
    let d = tempfile::tempdir().expect("tmp");
    let env = Env::new().with_args("--log-rate 2").at(d.path());
    env.run(&["start", "--timeout", "5s"]).code(0);
    std::fs::set_permissions(&env.dir, std::fs::Permissions::from_mode(0o777)).expect("chmod dir");
    std::fs::set_permissions(
        env.path(".worker.pid"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("chmod pid");
    let out = env.run(&["status"]);
    let t = out.text();
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Warning: data dir") && t.contains("world-writable"),
        "{t}"
    );
    assert!(t.contains(".worker.pid is world-writable"), "{t}");
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("the warning in the header", T, |s| {
        s.contains("world-writable")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    env.run(&["stop"]).code(0);
}

// Unix uids (setpriv, chown).
#[cfg(unix)]
#[test]
fn another_users_pid_file_and_worker_are_shown_and_actions_refused() {
    if !setpriv_available() {
        common::skip(
            "another_users_pid_file_and_worker_are_shown_and_actions_refused",
            "needs root and setpriv to run a worker as uid 65534",
        );
        return;
    }
    let env = new_env();
    std::fs::set_permissions(&env.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let port = env.port;
    // A worker running as uid 65534, started by this test.
    let mut worker = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "stand-in-worker",
            "--log-rate",
            "2",
        ])
        .env("CLAUDE_MEM_WORKER_PORT", port.to_string())
        .spawn()
        .expect("worker as nobody");
    let pid = worker.id() as i32;
    wait_listening(port, T);
    // Case A: the PID file belongs to the other user: unknown (4), left untouched, stop refused.
    let pidf = env.path(".worker.pid");
    std::fs::write(&pidf, pid.to_string()).expect("pid file");
    std::os::unix::fs::chown(&pidf, Some(65534), Some(65534)).expect("chown");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(4), "{}", out.text());
    assert!(
        out.text().contains("owned by another user"),
        "{}",
        out.text()
    );
    let out = env.run(&["stop"]);
    assert_eq!(out.status.code(), Some(4), "{}", out.text());
    assert!(pidf.exists());

    // Case B: our PID file names the other user's worker: shown, but stop is refused.
    std::fs::remove_file(&pidf).expect("rm");
    std::fs::write(&pidf, pid.to_string()).expect("pid file");
    let mut old = std::time::SystemTime::now() - Duration::from_secs(0);
    old += Duration::from_secs(5);
    let f = std::fs::File::options()
        .write(true)
        .open(&pidf)
        .expect("open");
    f.set_modified(old).expect("mtime");
    drop(f);
    // Another user's worker is never this data dir's, whatever its PID file says: the port is
    // taken (152), named with its user; stop refuses and signals nothing.
    let other = claude_mem_top::platform::user_name(65534).unwrap_or_else(|| "uid 65534".into());
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(152), "{}", out.text());
    assert!(out.text().contains(&other), "{}", out.text());
    let out = env.run(&["stop", "--grace", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", out.text());
    assert!(out.text().contains(&other), "{}", out.text());
    assert!(
        worker.try_wait().expect("try_wait").is_none(),
        "the other user's worker was not signalled"
    );
    let _ = worker.kill();
    let _ = worker.wait();
}
