//! Issue 6, case 15 (and issue 3's PM2 lines): the one-time PM2 cleanup. A fake `pm2` first on
//! PATH records each call; `CLAUDE_MEM_TOP_PM2_TIMEOUT` shortens the 10 s limit for the hang.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

mod common;

use std::time::Duration;

use common::{alive, wait_until, Env};

/// A fake pm2 that appends its arguments to `pm2-calls` in the test root, then runs `then`.
// The fake pm2 is a shell script.
#[cfg(unix)]
fn fake_pm2(env: &Env, then: &str) -> std::path::PathBuf {
    let calls = env.root.path().join("pm2-calls");
    env.script(
        "pm2",
        &format!("echo \"$@\" >> '{}'\n{then}", calls.display()),
    );
    calls
}

// The fake pm2 is a shell script.
#[cfg(unix)]
fn calls(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

fn assert_marker(env: &Env) -> String {
    let m = env.read(".pm2-migrated").expect("marker written");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&m).is_ok() && m.ends_with('Z') && m.len() == 24,
        "marker {m:?} is not an ISO-8601 UTC timestamp"
    );
    m
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_fake_pm2_is_called_exactly_once_over_two_starts() {
    let env = Env::new();
    let log = fake_pm2(&env, "echo '[PM2] Applying action deleteProcessId'; exit 0");
    env.run(&["start"]).code(0);
    let marker = assert_marker(&env);
    env.run(&["stop", "--grace", "2s"]).code(0);
    env.run(&["start"]).code(0);
    env.run(&["restart", "--grace", "2s"]).code(0);
    env.run(&["ensure"]).code(0);
    assert_eq!(calls(&log), vec!["delete claude-mem-worker"]);
    assert_eq!(env.read(".pm2-migrated"), Some(marker), "marker rewritten");
    // pm2's output went into the dated log.
    assert!(
        env.log().contains("Applying action deleteProcessId"),
        "{}",
        env.log()
    );
}

#[test]
fn case15_without_pm2_the_marker_is_still_written() {
    let env = Env::new();
    let out = env.run(&["start"]);
    out.code(0);
    assert!(out.stdout.contains("pm2 not installed"), "{}", out.both());
    assert_marker(&env);
    // `migrate` on demand says so too, and leaves the marker alone.
    let before = env.read(".pm2-migrated");
    let m = env.run(&["migrate"]);
    m.code(0);
    assert!(m.stdout.contains("pm2 is not installed"), "{}", m.both());
    assert_eq!(env.read(".pm2-migrated"), before);
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_pm2_failing_with_exit_1_is_ignored() {
    let env = Env::new();
    let log = fake_pm2(
        &env,
        "echo '[PM2][ERROR] Process or Namespace claude-mem-worker not found' >&2; exit 1",
    );
    let out = env.run(&["start"]);
    out.code(0);
    assert!(out.stdout.contains("pm2 delete exited 1"), "{}", out.both());
    assert_marker(&env);
    assert_eq!(calls(&log).len(), 1);
    assert!(env
        .log()
        .contains("[PM2][ERROR] Process or Namespace claude-mem-worker not found"));
    env.run(&["status"]).code(0);
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_pm2_hanging_is_killed_after_the_limit_and_the_marker_still_written() {
    let mut env = Env::new();
    env.extra_env
        .push(("CLAUDE_MEM_TOP_PM2_TIMEOUT".into(), "500ms".into()));
    let pidfile = env.root.path().join("pm2.pid");
    let log = fake_pm2(
        &env,
        &format!("echo $$ > '{}'\nexec sleep 600", pidfile.display()),
    );
    let out = env.run(&["start"]);
    out.code(0);
    assert!(
        out.stdout.contains("pm2 delete hung and was killed"),
        "{}",
        out.both()
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
    assert_marker(&env);
    let pm2: i32 = std::fs::read_to_string(&pidfile)
        .expect("pm2 ran")
        .trim()
        .parse()
        .expect("pid");
    wait_until(Duration::from_secs(5), "the hung pm2 to be gone", || {
        !alive(pm2)
    });
    assert_eq!(calls(&log).len(), 1);
    env.run(&["status"]).code(0);
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_marker_present_means_pm2_is_never_called() {
    let env = Env::new();
    let log = fake_pm2(&env, "exit 0");
    env.write(".pm2-migrated", "2025-12-13T00:18:39.673Z");
    env.run(&["start"]).code(0);
    env.run(&["restart", "--grace", "2s"]).code(0);
    assert!(calls(&log).is_empty(), "pm2 called: {:?}", calls(&log));
    assert_eq!(
        env.read(".pm2-migrated").as_deref(),
        Some("2025-12-13T00:18:39.673Z")
    );
    let st = env.run(&["status"]);
    assert!(st.stdout.contains("PM2 migrated: 2025-12-13T00:18:39.673Z"));
    // `migrate` runs pm2 on demand, and still leaves the marker as it was.
    let m = env.run(&["migrate"]);
    m.code(0);
    assert!(m.stdout.contains("Marker already present"), "{}", m.both());
    assert_eq!(calls(&log), vec!["delete claude-mem-worker"]);
}

// Replacing a file another process holds open is a Unix rename guarantee; Windows refuses it.
#[cfg(unix)]
#[test]
fn case15_marker_and_pid_files_are_replaced_atomically() {
    let env = Env::new();
    // A stale .worker.port (no .worker.pid) is replaced by start, not rewritten in place: a
    // reader holding the old file keeps seeing the old, complete content.
    env.write(".worker.port", "41000\n999999");
    let old = std::fs::File::open(env.path(".worker.port")).expect("open old");
    let old_ino = claude_mem_top::platform::file_id(&env.path(".worker.port")).expect("id");
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("pid");
    assert_ne!(
        claude_mem_top::platform::file_id(&env.path(".worker.port")).expect("new id"),
        old_ino,
        ".worker.port was rewritten in place"
    );
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut &old, &mut seen).expect("read old");
    assert_eq!(seen, "41000\n999999");
    assert_eq!(
        env.read(".worker.port"),
        Some(format!("{}\n{pid}", env.port))
    );
    // No temp files left; every state file complete.
    for e in std::fs::read_dir(&env.dir).expect("ls").flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".tmp"), "temp file left: {n}");
    }
    assert_marker(&env);

    // While start/stop cycles run, a reader never sees a half-written file.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(t) = env.read(".worker.pid") {
                    assert!(t.parse::<i32>().is_ok(), "half-written .worker.pid: {t:?}");
                    reads += 1;
                }
                if let Some(t) = env.read(".worker.port") {
                    let ok = t
                        .split_once('\n')
                        .is_some_and(|(a, b)| a.parse::<u16>().is_ok() && b.parse::<i32>().is_ok());
                    assert!(ok, "half-written .worker.port: {t:?}");
                }
                if let Some(t) = env.read(".pm2-migrated") {
                    assert_eq!(t.len(), 24, "half-written marker: {t:?}");
                }
                std::thread::yield_now();
            }
            reads
        });
        for _ in 0..5 {
            env.run(&["restart", "--grace", "2s"]).code(0);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().expect("reader") > 0);
    });
}
