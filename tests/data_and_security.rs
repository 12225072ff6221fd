//! Fault suite, files and data (database, logs) and security cases, against the real reader code,
//! real SQLite files and the real binary in a pseudo-terminal.

mod support_pty;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use claude_mem_top::app::msg::DbState;
use claude_mem_top::sources::db;
use support_pty::{Pty, POLL};

const BIN: &str = env!("CARGO_BIN_EXE_claude-mem-top");
const T: Duration = Duration::from_secs(15);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn cmd(dir: &Path, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("CLAUDE_MEM_DATA_DIR", dir)
        .env("CLAUDE_MEM_WORKER_PORT", port.to_string())
        .env(
            "CLAUDE_MEM_TOP_WORKER_CMD",
            format!("{BIN} stand-in-worker --log-rate 2"),
        )
        .env("HOME", dir.join("home"))
        .env("PATH", "/usr/bin:/bin")
        .env_remove("CLAUDE_MEM_WORKER_HOST");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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

#[test]
fn dashboard_leaves_the_db_byte_identical() {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("claude-mem.db");
    make_db(&p, true);
    let bytes = std::fs::read(&p).expect("read");
    let before = listing(d.path());
    let mut pty = Pty::spawn(cmd(d.path(), free_port(), &[]), 120, 40);
    pty.wait_for("the DB counts", T, |s| s.contains("observations 2"));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert_eq!(std::fs::read(&p).expect("read"), bytes);
    assert_eq!(listing(d.path()), before);
}

fn logs_dir(d: &Path) -> PathBuf {
    let l = d.join("logs");
    std::fs::create_dir_all(&l).expect("logs");
    l
}

#[test]
fn hostile_log_content_never_reaches_the_terminal() {
    let d = tempfile::tempdir().expect("tmp");
    let logs = logs_dir(d.path());
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

    let mut pty = Pty::spawn(cmd(d.path(), free_port(), &[]), 120, 40);
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

#[test]
fn log_truncation_rotation_new_day_and_recreated_logs_dir() {
    let d = tempfile::tempdir().expect("tmp");
    let logs = logs_dir(d.path());
    let today = logs.join("worker-2026-11-25.log");
    append(
        &today,
        "[2026-11-25 10:00:00.000] [INFO ] [SYSTEM] FIRST-LINE",
    );
    let mut pty = Pty::spawn(cmd(d.path(), free_port(), &[]), 120, 40);
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

fn vm_hwm_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_1_gib_log_is_read_from_its_end() {
    let d = tempfile::tempdir().expect("tmp");
    let logs = logs_dir(d.path());
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
    let mut pty = Pty::spawn(cmd(d.path(), free_port(), &[]), 120, 40);
    pty.wait_for("the last line of the 1 GiB log", T, |s| {
        s.contains("big-log line 4999")
    });
    let hwm = vm_hwm_kb(pty.child.id());
    assert!(
        hwm < 100 * 1024,
        "peak RSS {hwm} kB: the log must be read from its end, not whole"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

#[test]
fn non_loopback_host_in_settings_is_refused() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(
        d.path().join("settings.json"),
        r#"{"env": {"CLAUDE_MEM_WORKER_HOST": "10.1.2.3"}}"#,
    )
    .expect("settings");
    let out = cmd(d.path(), free_port(), &["status"])
        .output()
        .expect("status");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("10.1.2.3") && text(&out).contains("loopback"),
        "{}",
        text(&out)
    );
    std::fs::write(
        d.path().join("settings.json"),
        r#"{"CLAUDE_MEM_WORKER_HOST": "::1"}"#,
    )
    .expect("settings");
    assert_eq!(
        cmd(d.path(), free_port(), &["status"])
            .output()
            .expect("status")
            .status
            .code(),
        Some(3)
    );
}

#[test]
fn world_writable_data_dir_and_pid_file_warn() {
    let d = tempfile::tempdir().expect("tmp");
    let port = free_port();
    assert!(cmd(d.path(), port, &["start", "--timeout", "5s"])
        .status()
        .expect("start")
        .success());
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod dir");
    std::fs::set_permissions(
        d.path().join(".worker.pid"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("chmod pid");
    let out = cmd(d.path(), port, &["status"]).output().expect("status");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Warning: data dir") && t.contains("world-writable"),
        "{t}"
    );
    assert!(t.contains(".worker.pid is world-writable"), "{t}");
    let mut pty = Pty::spawn(cmd(d.path(), port, &[]), 120, 40);
    pty.wait_for("the warning in the header", T, |s| {
        s.contains("world-writable")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(cmd(d.path(), port, &["stop"])
        .status()
        .expect("stop")
        .success());
}

fn setpriv() -> bool {
    Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn another_users_pid_file_and_worker_are_shown_and_actions_refused() {
    if !setpriv() {
        eprintln!("setpriv not available: skipping the other-user case");
        return;
    }
    let d = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let port = free_port();
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
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < T, "worker did not listen");
        std::thread::sleep(POLL);
    }
    // Case A: the PID file belongs to the other user: unknown (4), left untouched, stop refused.
    let pidf = d.path().join(".worker.pid");
    std::fs::write(&pidf, pid.to_string()).expect("pid file");
    std::os::unix::fs::chown(&pidf, Some(65534), Some(65534)).expect("chown");
    let out = cmd(d.path(), port, &["status"]).output().expect("status");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("owned by another user"),
        "{}",
        text(&out)
    );
    let out = cmd(d.path(), port, &["stop"]).output().expect("stop");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
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
    let out = cmd(d.path(), port, &["status"]).output().expect("status");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("uid 65534"), "{}", text(&out));
    let out = cmd(d.path(), port, &["stop", "--grace", "1s"])
        .output()
        .expect("stop");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("uid 65534"), "{}", text(&out));
    assert!(
        worker.try_wait().expect("try_wait").is_none(),
        "the other user's worker was not signalled"
    );
    let _ = worker.kill();
    let _ = worker.wait();
}
