//! Issue 3, "What it must show": the headless CLI against the real stand-in worker.
//! start → status → stop → status, the files exactly as specified, a detached worker, restart,
//! ensure's silence, logs.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

#[allow(unused_imports)]
use crate::common;

use std::time::Duration;

use crate::common::{alive, stat, Env, BIN};

fn is_iso_utc(s: &str) -> bool {
    // 2025-12-13T00:18:39.673Z
    let b = s.as_bytes();
    s.len() == 24
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

#[test]
fn start_status_stop_status_with_spec_files() {
    let env = Env::new();
    let out = env.run(&["start", "--timeout", "10s"]);
    out.code(0);
    let pid = env.pid().expect(".worker.pid holds a PID");
    assert!(
        out.stdout
            .contains(&format!("Worker started (PID {pid}, port {})", env.port)),
        "{}",
        out.both()
    );
    assert!(out.stdout.contains(" ms"), "{}", out.both());

    // The files, byte for byte.
    assert_eq!(env.read(".worker.pid"), Some(pid.to_string()));
    assert_eq!(
        env.read(".worker.port"),
        Some(format!("{}\n{pid}", env.port))
    );
    let marker = env.read(".pm2-migrated").expect("marker written");
    assert!(is_iso_utc(marker.trim_end()), "marker {marker:?}");
    let log = env.log();
    assert!(
        log.contains("HTTP server started"),
        "{} holds {log:?}",
        env.log_path().display()
    );
    let logs: Vec<String> = std::fs::read_dir(env.dir.join("logs"))
        .expect("logs dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(logs, vec![Env::log_name()]);
    // No temp files left behind by the atomic writes.
    for e in std::fs::read_dir(&env.dir).expect("data dir").flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".tmp"), "left over: {n}");
    }

    // status: 7.1.0 text, exit 0.
    let st = env.run(&["status"]);
    st.code(0);
    let lines: Vec<&str> = st.stdout.lines().collect();
    assert_eq!(lines[0], "Worker is running", "{}", st.both());
    assert_eq!(lines[1], format!("  PID: {pid}"));
    assert_eq!(lines[2], format!("  Port: {}", env.port));
    assert!(lines[3].starts_with("  Uptime: "), "{}", st.both());
    assert!(
        st.stdout.contains(&env.log_path().display().to_string()),
        "{}",
        st.both()
    );

    // --once is the same snapshot.
    env.run(&["--once"]).code(0);

    let stop = env.run(&["stop", "--grace", "2s"]);
    stop.code(0);
    assert!(
        stop.stdout
            .contains(&format!("Worker stopped (PID {pid}) in ")),
        "{}",
        stop.both()
    );
    assert!(!alive(pid), "worker {pid} still alive after stop");
    assert!(!env.exists(".worker.pid") && !env.exists(".worker.port"));
    assert!(env.exists(".pm2-migrated"), "the marker stays");
    // A detached Windows worker has no console for CTRL_BREAK: `stop` ends it at once, so no
    // shutdown line (a 13.x worker is asked through /api/admin/shutdown instead).
    #[cfg(unix)]
    assert!(env.log().contains("Received SIGTERM, shutting down"));

    let st = env.run(&["status"]);
    st.code(3);
    assert!(
        st.stdout.starts_with("Worker is not running\n"),
        "{}",
        st.both()
    );
    // stop again: nothing runs, exit 0.
    let again = env.run(&["stop"]);
    again.code(0);
    assert!(again.stdout.contains("Worker is not running"));
}

#[test]
fn status_json_has_the_documented_fields() {
    let env = Env::new();
    let v = env.run(&["status", "--json"]).code(3).json();
    assert_eq!(v["state"], "stopped");
    env.run(&["start"]).code(0);
    let out = env.run(&["status", "--format", "json"]);
    out.code(0);
    let v = out.json();
    for k in [
        "schema_version",
        "state",
        "pid",
        "port",
        "uptime_seconds",
        "started_at",
        "healthy",
        "checks",
        "data_dir",
        "log_file",
        "pm2_migrated_at",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {}", out.stdout);
    }
    assert_eq!(v["state"], "running");
    assert_eq!(v["healthy"], true);
    assert_eq!(v["pid"], env.pid().expect("pid"));
    assert_eq!(v["port"], env.port);
    let names: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["pid_file", "process", "http"]);
    assert!(v["checks"][2]["latency_ms"].is_number());
    // The same from --once --json.
    assert_eq!(
        env.run(&["--once", "--json"]).code(0).json()["state"],
        "running"
    );
}

// A shell in a session of its own (setsid, sh): Unix only. Elsewhere every start test shows the
// worker outliving the `start` that spawned it.
#[cfg(unix)]
#[test]
fn worker_keeps_running_after_the_shell_that_started_it_exits() {
    let env = Env::new();
    // A shell (its own session, like a terminal) runs `start` and exits.
    let mut c = std::process::Command::new("setsid");
    env.setup(&mut c);
    c.args(["-w", "sh", "-c", &format!("'{BIN}' start; echo shell=$$")]);
    let out = common::run(c, common::CALL);
    out.code(0);
    let shell: i32 = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("shell="))
        .and_then(|s| s.parse().ok())
        .expect("shell pid");
    let pid = env.pid().expect("worker pid");
    assert!(!alive(shell), "the shell has exited");
    assert!(alive(pid), "worker {pid} died with its shell");
    // It leads its own session and process group: the terminal's hangup never reaches it.
    let (_, _, leads) = stat(pid).expect("worker stat");
    assert!(leads, "worker {pid} leads its own session and group");
    env.run(&["status"]).code(0);
    // Its stdin is /dev/null and stdout/stderr go to the dated log (fd links: Linux only).
    #[cfg(target_os = "linux")]
    let fd0 = std::fs::read_link(format!("/proc/{pid}/fd/0")).expect("fd 0");
    #[cfg(target_os = "linux")]
    assert_eq!(fd0, std::path::Path::new("/dev/null"));
    #[cfg(target_os = "linux")]
    let fd1 = std::fs::read_link(format!("/proc/{pid}/fd/1")).expect("fd 1");
    #[cfg(target_os = "linux")]
    assert_eq!(fd1, env.log_path());
}

#[test]
fn start_twice_is_a_no_op_and_restart_replaces_the_worker() {
    let env = Env::new();
    env.run(&["start"]).code(0);
    let first = env.pid().expect("pid");
    let again = env.run(&["start"]);
    again.code(0);
    assert!(
        again.stdout.contains(&format!(
            "Worker is already running (PID {first}, port {})",
            env.port
        )),
        "{}",
        again.both()
    );
    let r = env.run(&["restart", "--grace", "2s"]);
    r.code(0);
    let second = env.pid().expect("pid after restart");
    assert_ne!(first, second);
    assert!(r.stdout.contains(&format!("Worker stopped (PID {first})")));
    assert!(r.stdout.contains(&format!("Worker started (PID {second}")));
    common::wait_until(Duration::from_secs(5), "the old worker to be gone", || {
        !alive(first)
    });
    assert_eq!(env.workers(), vec![second]);
    env.run(&["status"]).code(0);
}

#[test]
fn ensure_prints_nothing_on_stdout_and_starts_once() {
    let env = Env::new();
    let a = env.run(&["ensure"]);
    a.code(0);
    assert_eq!(a.stdout, "", "{}", a.both());
    let pid = env.pid().expect("started");
    let b = env.run(&["ensure"]);
    b.code(0);
    assert_eq!(b.stdout, "");
    assert_eq!(env.pid(), Some(pid));
    assert_eq!(env.workers(), vec![pid]);
}

#[test]
fn logs_prints_the_tail_and_filters_levels_keeping_entries_whole() {
    let env = Env::new().with_args("--log-rate 200");
    env.run(&["start"]).code(0);
    common::wait_until(Duration::from_secs(10), "error lines in the log", || {
        env.log().contains("[ERROR]")
    });
    let out = env.run(&["logs", "--lines", "5"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 5, "{}", out.both());
    let warn = env.run(&["logs", "--lines", "500", "--level", "warn"]);
    warn.code(0);
    assert!(!warn.stdout.contains("[INFO ]") && !warn.stdout.contains("[DEBUG]"));
    assert!(warn.stdout.contains("[ERROR]"), "{}", warn.both());
    // The multi-line ERROR entry keeps its continuation line.
    assert!(
        warn.stdout.contains("    at TCPConnectWrap.afterConnect"),
        "{}",
        warn.both()
    );
    env.run(&["logs", "--level", "loud"]).code(2);
}

/// `logs --follow` keeps printing: appended lines, a truncated file, the next day's file, with
/// `--level` keeping multi-line entries whole.
#[test]
fn logs_follow_survives_truncation_and_follows_the_next_days_file() {
    use std::io::{BufRead, Write};
    let env = Env::new();
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let today = logs.join("worker-2026-11-25.log");
    std::fs::write(
        &today,
        "[2026-11-25 10:00:00.000] [WARN ] [SYSTEM] BACKLOG-LINE\n",
    )
    .expect("log");
    let mut child = env
        .cmd(&["logs", "--follow", "--level", "warn"])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("logs -f");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(l) = line else { return };
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    let expect_line = |want: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains(want) => return,
                Ok(l) => assert!(!l.contains("SHOULD-NOT-SHOW"), "filtered line printed: {l}"),
                Err(_) => panic!("`logs -f` did not print {want:?} within 10 s"),
            }
        }
    };
    let append = |p: &std::path::Path, text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .expect("open");
        f.write_all(text.as_bytes()).expect("append");
    };
    expect_line("BACKLOG-LINE");
    append(
        &today,
        "[2026-11-25 10:00:01.000] [INFO ] [SYSTEM] SHOULD-NOT-SHOW\n\
         [2026-11-25 10:00:02.000] [ERROR] [SYSTEM] APPENDED-ERROR\n    at CONTINUATION-LINE\n",
    );
    expect_line("APPENDED-ERROR");
    expect_line("CONTINUATION-LINE");
    std::fs::write(
        &today,
        "[2026-11-25 10:00:03.000] [WARN ] [SYSTEM] AFTER-TRUNCATION-LONGER-THAN-BEFORE\n",
    )
    .expect("rewrite");
    expect_line("AFTER-TRUNCATION-LONGER-THAN-BEFORE");
    append(
        &logs.join("worker-2026-11-26.log"),
        "[2026-11-26 00:00:00.000] [ERROR] [SYSTEM] NEXT-DAY-LINE\n",
    );
    expect_line("NEXT-DAY-LINE");
    let _ = child.kill();
    let _ = child.wait();
}
