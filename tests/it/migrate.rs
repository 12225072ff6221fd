//! Issue 6, case 15, issue 22 item 4 and issue 28 item 7: the one-time PM2 cleanup looks before it
//! calls pm2 (most pm2 commands start a daemon), runs `pm2 delete claude-mem-worker` only when a
//! live pm2 daemon runs that app, and never claims what it did not do.
//!
//! Two kinds of pm2: a fake `pm2` script first on PATH that records each call, beside a fake
//! daemon (a `sleep` named like pm2's God Daemon, plus a `sleep` as the app); and the real pm2 7.x
//! that `.ci/run` installs under `CMT_PM2_ROOT` (tests needing it skip visibly without it). Every
//! test has a temp HOME and a temp `PM2_HOME`, and ends only the pm2 daemon its own `pm2.pid`
//! names and that daemon's children.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

#[allow(unused_imports)]
use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{alive, wait_until, Env, CALL};
use claude_mem_top::platform::{self, Stop};

const APP: &str = "claude-mem-worker";

/// A fake pm2 that appends its arguments to `pm2-calls` in the test root, then runs `then`.
// The fake pm2 is a shell script.
#[cfg(unix)]
fn fake_pm2(env: &Env, then: &str) -> PathBuf {
    let calls = env.root.path().join("pm2-calls");
    env.script(
        "pm2",
        &format!("echo \"$@\" >> '{}'\n{then}", calls.display()),
    );
    calls
}

fn calls(path: &Path) -> Vec<String> {
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

/// Give the test its own `PM2_HOME` (not created): `<root>/pm2`, short enough for pm2's sockets.
fn pm2_home(env: &mut Env) -> PathBuf {
    let home = env.root.path().join("pm2");
    env.extra_env.push(("PM2_HOME".into(), home.clone().into()));
    home
}

/// A fake pm2 daemon running a fake claude-mem-worker app in `home`: two `sleep`s the test owns,
/// the first named like pm2's daemon. Returns (daemon, app, the app's pid file).
// argv[0] renaming (CommandExt::arg0) and `sleep` are Unix only.
#[cfg(unix)]
fn fake_daemon(env: &Env, home: &Path) -> (i32, i32, PathBuf) {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(home.join("pids")).expect("pm2 home");
    let sleep = |name: Option<String>| {
        let mut c = Command::new("sleep");
        if let Some(n) = name {
            c.arg0(n);
        }
        c.arg("600")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        env.own(c.spawn().expect("spawn sleep"))
    };
    let daemon = sleep(Some(format!("PM2 v7.0.4: God Daemon ({})", home.display())));
    let app = sleep(None);
    std::fs::write(home.join("pm2.pid"), daemon.to_string()).expect("pm2.pid");
    let pid_file = home.join(format!("pids/{APP}-0.pid"));
    std::fs::write(&pid_file, app.to_string()).expect("app pid file");
    (daemon, app, pid_file)
}

/// The fake pm2's `delete`: what pm2 does (the app stopped, its pid file removed).
#[cfg(unix)]
fn fake_delete(pid_file: &Path) -> String {
    format!(
        "kill $(cat '{f}'); rm -f '{f}'; echo '[PM2] Applying action deleteProcessId on app [{APP}]'",
        f = pid_file.display()
    )
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_fake_pm2_is_called_exactly_once_over_two_starts() {
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let (_, app, pid_file) = fake_daemon(&env, &home);
    let log = fake_pm2(&env, &fake_delete(&pid_file));
    let out = env.run(&["start"]);
    out.code(0);
    assert!(
        out.stdout
            .contains(&format!("pm2 delete {APP}: done (PID {app} stopped")),
        "{}",
        out.both()
    );
    let marker = assert_marker(&env);
    env.run(&["stop", "--grace", "2s"]).code(0);
    env.run(&["start"]).code(0);
    env.run(&["restart", "--grace", "2s"]).code(0);
    env.run(&["ensure"]).code(0);
    assert_eq!(calls(&log), vec![format!("delete {APP}")]);
    assert_eq!(env.read(".pm2-migrated"), Some(marker), "marker rewritten");
    // pm2's output went into the dated log, after our line naming the command and PM2_HOME.
    let l = env.log();
    assert!(
        l.contains("Applying action deleteProcessId") && l.contains(&home.display().to_string()),
        "{l}"
    );
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_without_a_pm2_daemon_pm2_is_not_run_and_the_marker_is_written() {
    let env = Env::new();
    let log = fake_pm2(&env, "exit 0");
    let out = env.run(&["start"]);
    out.code(0);
    assert!(
        out.stdout.contains("no pm2 daemon runs for") && out.stdout.contains("marker written"),
        "{}",
        out.both()
    );
    assert_marker(&env);
    // `migrate` on demand says so too, and leaves the marker alone.
    let before = env.read(".pm2-migrated");
    let m = env.run(&["migrate"]);
    m.code(0);
    assert!(
        m.stdout.contains("No pm2 daemon runs for")
            && m.stdout.contains("pm2 not run")
            && m.stdout.contains("Marker already present"),
        "{}",
        m.both()
    );
    assert_eq!(env.read(".pm2-migrated"), before);
    assert!(calls(&log).is_empty(), "pm2 called: {:?}", calls(&log));
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_pm2_failing_with_exit_1_is_ignored_by_start_but_the_cleanup_stays_due() {
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let (daemon, app, _) = fake_daemon(&env, &home);
    let log = fake_pm2(
        &env,
        "echo '[PM2][ERROR] Process or Namespace claude-mem-worker not found' >&2; exit 1",
    );
    // The hooks' path: errors ignored, the worker starts; the app still runs, so no marker.
    let out = env.run(&["start"]);
    out.code(0);
    assert!(
        out.stdout.contains("exited 1") && out.stdout.contains("marker not written"),
        "{}",
        out.both()
    );
    assert!(!env.exists(".pm2-migrated"));
    assert_eq!(calls(&log).len(), 1);
    assert!(env
        .log()
        .contains("[PM2][ERROR] Process or Namespace claude-mem-worker not found"));
    // `status` advises `migrate` (it would act); `migrate` fails naming the daemon and the command.
    let st = env.run(&["status"]);
    st.code(0);
    assert!(
        st.stdout
            .contains(&format!("pm2 daemon PID {daemon} in {}", home.display()))
            && st.stdout.contains("claude-mem-top migrate"),
        "{}",
        st.both()
    );
    let m = env.run(&["migrate"]);
    m.code(1);
    assert!(
        m.stderr.contains(&format!("the pm2 daemon PID {daemon}"))
            && m.stderr.contains(&format!("PID {app}"))
            && m.stderr
                .contains(&format!("PM2_HOME={} pm2 delete {APP}", home.display()))
            && m.stderr.contains("not written"),
        "{}",
        m.both()
    );
    assert!(alive(app));
    assert!(!env.exists(".pm2-migrated"));
    assert_eq!(calls(&log).len(), 2);
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_pm2_hanging_is_killed_after_the_limit() {
    let mut env = Env::new();
    env.extra_env
        .push(("CLAUDE_MEM_TOP_PM2_TIMEOUT".into(), "500ms".into()));
    let home = pm2_home(&mut env);
    let (daemon, _, _) = fake_daemon(&env, &home);
    let pidfile = env.root.path().join("pm2-cli.pid");
    let log = fake_pm2(
        &env,
        &format!("echo $$ > '{}'\nexec sleep 600", pidfile.display()),
    );
    let out = env.run(&["start"]);
    out.code(0);
    assert!(
        out.stdout.contains("hung and was killed after"),
        "{}",
        out.both()
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
    assert!(!env.exists(".pm2-migrated"), "the cleanup is still due");
    let pm2: i32 = std::fs::read_to_string(&pidfile)
        .expect("pm2 ran")
        .trim()
        .parse()
        .expect("pid");
    wait_until(Duration::from_secs(5), "the hung pm2 to be gone", || {
        !alive(pm2)
    });
    assert_eq!(calls(&log).len(), 1);
    assert!(alive(daemon), "the daemon is left alone");
    env.run(&["status"]).code(0);
}

// The fake pm2 is a shell script.
#[cfg(unix)]
#[test]
fn case15_marker_present_means_pm2_is_never_called() {
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let (_, app, pid_file) = fake_daemon(&env, &home);
    let log = fake_pm2(&env, &fake_delete(&pid_file));
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
    // `migrate` runs the cleanup on demand, and still leaves the marker as it was.
    let m = env.run(&["migrate"]);
    m.code(0);
    assert!(
        m.stdout.contains(&format!("PID {app} stopped"))
            && m.stdout.contains("Marker already present"),
        "{}",
        m.both()
    );
    assert_eq!(calls(&log), vec![format!("delete {APP}")]);
    assert_eq!(
        env.read(".pm2-migrated").as_deref(),
        Some("2025-12-13T00:18:39.673Z")
    );
}

// The fake pm2 is a shell script; the symlink is a Unix one.
#[cfg(unix)]
#[test]
fn issue28_a_refused_start_runs_no_cleanup_and_writes_no_marker() {
    let env = Env::new();
    let log = fake_pm2(&env, "exit 0");
    // `.worker.pid` a symlink: refused (exit 4), the file untouched.
    env.make_dir();
    let target = env.root.path().join("elsewhere.pid");
    std::fs::write(&target, "12345").expect("target");
    std::os::unix::fs::symlink(&target, env.path(".worker.pid")).expect("symlink");
    env.run(&["start"]).code(4);
    env.run(&["ensure"]).code(4);
    assert!(!env.exists(".pm2-migrated"));
    std::fs::remove_file(env.path(".worker.pid")).expect("rm symlink");
    // The port held by a listener that is not a worker: refused (exit 1).
    let listener = std::net::TcpListener::bind(("127.0.0.1", env.port)).expect("bind");
    let out = env.run(&["start"]);
    out.code(1);
    assert!(out.stderr.contains(&env.port.to_string()), "{}", out.both());
    assert!(!env.exists(".pm2-migrated"));
    drop(listener);
    assert!(calls(&log).is_empty(), "pm2 called: {:?}", calls(&log));
    // Once start is not refused, the cleanup runs (nothing to delete) and the marker is written.
    common::wait_port_free(env.port, Duration::from_secs(10));
    env.run(&["start"]).code(0);
    assert_marker(&env);
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

// ---------------------------------------------------------------------------------------------
// The real pm2 7.x (issue 22 item 4).

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
/// The real pm2 `.ci/run` installs: its JS entry point, run by node.
struct RealPm2 {
    node: PathBuf,
    script: PathBuf,
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
/// The real pm2 7.x under `CMT_PM2_ROOT`, or `None` after a visible skip.
fn real_pm2(test: &str) -> Option<RealPm2> {
    let Some(root) = std::env::var_os("CMT_PM2_ROOT") else {
        common::skip(
            test,
            "CMT_PM2_ROOT is not set (.ci/run installs pm2 7 there with npm)",
        );
        return None;
    };
    let pkg = Path::new(&root).join("node_modules").join("pm2");
    let version = std::fs::read_to_string(pkg.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(String::from));
    let script = pkg.join("bin").join("pm2");
    match version {
        Some(v) if v.starts_with("7.") && script.is_file() => {}
        Some(v) => {
            common::skip(test, &format!("{} holds pm2 {v}, not 7.x", pkg.display()));
            return None;
        }
        None => {
            common::skip(test, &format!("no pm2 in {}", pkg.display()));
            return None;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let node = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/local/bin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("node"))
        .find(|p| p.is_file());
    let Some(node) = node else {
        common::skip(test, "node is not installed");
        return None;
    };
    Some(RealPm2 { node, script })
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
/// A real pm2 daemon this test started in its own `PM2_HOME`: on drop, the daemon its `pm2.pid`
/// names is ended, then whatever of its children outlived it.
struct Daemon {
    home: PathBuf,
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
impl Daemon {
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.home.join("pm2.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 1)
    }
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(pid) = self.pid() else { return };
        let title = format!("God Daemon ({})", self.home.display());
        let Some(info) = platform::proc_info(pid).filter(|i| i.command().contains(&title)) else {
            return;
        };
        let kids: Vec<_> = platform::descendants(pid)
            .into_iter()
            .filter_map(|k| platform::start_token(k).map(|t| (k, t)))
            .collect();
        platform::signal_pid(pid, info.start, Stop::Graceful);
        if !common::holds_within(Duration::from_secs(5), || {
            !platform::is_same(pid, info.start)
        }) {
            platform::signal_pid(pid, info.start, Stop::Force);
        }
        for (k, t) in kids {
            platform::signal_pid(k, t, Stop::Force);
        }
    }
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
impl RealPm2 {
    /// pm2 as the test runs it: node and the script, a clean environment, this test's homes.
    fn cmd(&self, env: &Env, home: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.node);
        c.arg(&self.script)
            .args(args)
            .env_clear()
            .env("HOME", &env.home)
            .env("PM2_HOME", home)
            .env("PATH", "/usr/bin:/bin")
            // As a shell leaves it when the user types `pm2 start …`: the daemon inherits it,
            // and it is how `migrate` finds the daemon's own pm2 (a fork-mode app's command line
            // shows pm2's ProcessContainerFork.js only until pm2 renames the app's title).
            .env("_", &self.script)
            .current_dir(env.root.path())
            .stdin(Stdio::null());
        c
    }

    /// `pm2 on PATH` for the binary: a wrapper in `bin/` that records its calls.
    fn on_path(&self, env: &Env) -> PathBuf {
        let calls = env.root.path().join("pm2-calls");
        env.script(
            "pm2",
            &format!(
                "echo \"$@\" >> '{}'\nexec '{}' '{}' \"$@\"",
                calls.display(),
                self.node.display(),
                self.script.display()
            ),
        );
        calls
    }

    /// Start a real daemon in `home` running an app named claude-mem-worker: a JS file (fork
    /// mode, as claude-mem's worker ran) or, with `binary`, node itself (`-e`). Returns the
    /// daemon guard and the app's PID.
    fn daemon_with_app(&self, env: &Env, home: &Path, binary: bool) -> (Daemon, i32) {
        let guard = Daemon {
            home: home.to_path_buf(),
        };
        let script = env.root.path().join("app.js");
        std::fs::write(&script, "setInterval(() => {}, 1e9);\n").expect("app.js");
        let node = self.node.display().to_string();
        let path = script.display().to_string();
        let args: Vec<&str> = if binary {
            vec![
                "start",
                &node,
                "--name",
                APP,
                "--",
                "-e",
                "setInterval(()=>{},1e9)",
            ]
        } else {
            vec!["start", &path, "--name", APP]
        };
        let out = common::run(self.cmd(env, home, &args), CALL);
        assert!(out.status.success(), "pm2 start: {}", out.both());
        let pid_file = home.join("pids").join(format!("{APP}-0.pid"));
        let mut app = 0;
        wait_until(Duration::from_secs(10), "the pm2 app's pid file", || {
            app = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            app > 1 && alive(app)
        });
        assert!(guard.pid().is_some_and(alive), "no live pm2 daemon");
        (guard, app)
    }
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
/// Live processes whose environment has `PM2_HOME=home`: a pm2 daemon (or its apps) there. The
/// test's own stand-in workers inherit the variable from the binary's environment: not counted.
fn processes_with_pm2_home(env: &Env, home: &Path) -> Vec<i32> {
    let mut needle = std::ffi::OsString::from("PM2_HOME=");
    needle.push(home.as_os_str());
    let ours = env.ours();
    platform::pids()
        .into_iter()
        .filter(|p| *p != std::process::id() as i32 && alive(*p) && !ours.contains(p))
        .filter(|p| platform::environ(*p).contains(&needle))
        .collect()
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
/// `status` (text and JSON) gives no pm2 advice.
fn assert_no_pm2_advice(env: &Env) {
    let st = env.run(&["status"]);
    assert!(
        !st.stdout.contains("claude-mem-top migrate") && !st.stdout.contains("pm2 daemon"),
        "{}",
        st.both()
    );
    let v = env.run(&["status", "--json"]).json();
    assert!(v["pm2"].is_null(), "{:#}", v["pm2"]);
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
#[test]
fn issue22_migrate_with_pm2_on_path_and_no_daemon_starts_none() {
    const T: &str = "migrate::issue22_migrate_with_pm2_on_path_and_no_daemon_starts_none";
    let Some(pm2) = real_pm2(T) else { return };
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let _guard = Daemon { home: home.clone() };
    let calls_file = pm2.on_path(&env);
    let out = env.run(&["migrate"]);
    out.code(0);
    assert!(
        out.stdout
            .contains(&format!("No pm2 daemon runs for {}", home.display()))
            && out.stdout.contains("Wrote"),
        "{}",
        out.both()
    );
    assert_marker(&env);
    assert!(calls(&calls_file).is_empty(), "{:?}", calls(&calls_file));
    assert!(!home.join("pm2.pid").exists(), "a pm2 daemon was started");
    assert_eq!(processes_with_pm2_home(&env, &home), Vec::<i32>::new());
    assert_no_pm2_advice(&env);
    // Twice: no loop of advice and no daemon either.
    env.run(&["migrate"]).code(0);
    assert!(!home.join("pm2.pid").exists(), "a pm2 daemon was started");
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
#[test]
fn issue22_migrate_without_pm2_on_path_uses_the_daemons_own_pm2() {
    const T: &str = "migrate::issue22_migrate_without_pm2_on_path_uses_the_daemons_own_pm2";
    let Some(pm2) = real_pm2(T) else { return };
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let (daemon, app) = pm2.daemon_with_app(&env, &home, false);
    let d = daemon.pid().expect("daemon pid");
    // No pm2 on the binary's PATH (CLAUDE_MEM_TOP_PM2 names a missing bin/pm2).
    assert!(!env.bin.join("pm2").exists());
    let st = env.run(&["status"]);
    assert!(
        st.stdout.contains(&format!("pm2 daemon PID {d}"))
            && st.stdout.contains("claude-mem-top migrate"),
        "{}",
        st.both()
    );
    let out = env.run(&["migrate"]);
    out.code(0);
    assert!(
        out.stdout
            .contains(&format!("pm2 delete {APP}: done (PID {app} stopped"))
            && out.stdout.contains("node_modules/pm2/bin/pm2"),
        "{}",
        out.both()
    );
    wait_until(Duration::from_secs(10), "the pm2 app to be gone", || {
        !alive(app)
    });
    assert!(!home.join(format!("pids/{APP}-0.pid")).exists());
    assert_marker(&env);
    assert!(alive(d), "the daemon itself is left alone");
    assert_no_pm2_advice(&env);
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
#[test]
fn issue22_an_app_that_hides_pm2s_path_is_removed_or_named_with_the_daemon() {
    const T: &str =
        "migrate::issue22_an_app_that_hides_pm2s_path_is_removed_or_named_with_the_daemon";
    let Some(pm2) = real_pm2(T) else { return };
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    // node -e as the app: neither the daemon's nor the app's command line shows pm2's path.
    let (daemon, app) = pm2.daemon_with_app(&env, &home, true);
    let d = daemon.pid().expect("daemon pid");
    let out = env.run(&["migrate"]);
    if out.status.success() {
        // A global pm2 beside the daemon's node did it.
        wait_until(Duration::from_secs(10), "the pm2 app to be gone", || {
            !alive(app)
        });
        assert_marker(&env);
        return;
    }
    out.code(1);
    assert!(
        out.stderr.contains(&format!("the pm2 daemon PID {d}"))
            && out.stderr.contains(&format!("PID {app}"))
            && out
                .stderr
                .contains(&format!("PM2_HOME={} pm2 delete {APP}", home.display())),
        "{}",
        out.both()
    );
    assert!(!env.exists(".pm2-migrated"), "marker written");
    assert!(alive(app) && alive(d));
    // The hooks' path ignores the failure, starts the worker, and leaves the cleanup due.
    let e = env.run(&["ensure"]);
    e.code(0);
    assert!(!env.exists(".pm2-migrated"), "marker written");
    assert!(env.pid().is_some_and(alive));
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
#[test]
fn issue22_migrate_with_pm2_on_path_removes_the_app_and_leaves_a_bare_daemon_alone() {
    const T: &str =
        "migrate::issue22_migrate_with_pm2_on_path_removes_the_app_and_leaves_a_bare_daemon_alone";
    let Some(pm2) = real_pm2(T) else { return };
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let (daemon, app) = pm2.daemon_with_app(&env, &home, false);
    let d = daemon.pid().expect("daemon pid");
    let calls_file = pm2.on_path(&env);
    let out = env.run(&["migrate"]);
    out.code(0);
    assert!(
        out.stdout
            .contains(&format!("pm2 delete {APP}: done (PID {app} stopped")),
        "{}",
        out.both()
    );
    assert_eq!(calls(&calls_file), vec![format!("delete {APP}")]);
    wait_until(Duration::from_secs(10), "the pm2 app to be gone", || {
        !alive(app)
    });
    let marker = assert_marker(&env);
    assert_eq!(daemon.pid(), Some(d), "another pm2 daemon");
    assert!(alive(d));
    // Now a pm2 daemon without claude-mem-worker: left alone, pm2 not run, no advice.
    let again = env.run(&["migrate"]);
    again.code(0);
    assert!(
        again.stdout.contains(&format!(
            "The pm2 daemon PID {d} ({}) runs no {APP}",
            home.display()
        )) && again.stdout.contains("Marker already present"),
        "{}",
        again.both()
    );
    assert_eq!(calls(&calls_file).len(), 1);
    assert_eq!(env.read(".pm2-migrated"), Some(marker));
    assert_no_pm2_advice(&env);
    let report = env.run(&["doctor", "--json"]).json();
    for id in ["pm2", "pm2_marker"] {
        let f = report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_default();
        assert!(
            !f.to_string().contains("claude-mem-top migrate"),
            "{id}: {f:#}"
        );
    }
}

// The real pm2 runs on Unix here (Wine has no node).
#[cfg(unix)]
#[test]
fn issue22_ensure_with_pm2_on_path_and_no_daemon_starts_none() {
    const T: &str = "migrate::issue22_ensure_with_pm2_on_path_and_no_daemon_starts_none";
    let Some(pm2) = real_pm2(T) else { return };
    let mut env = Env::new();
    let home = pm2_home(&mut env);
    let _guard = Daemon { home: home.clone() };
    let calls_file = pm2.on_path(&env);
    let out = env.run(&["ensure"]);
    out.code(0);
    assert!(out.stdout.is_empty(), "{}", out.both());
    assert!(env.pid().is_some_and(alive), "no worker started");
    assert_marker(&env);
    assert!(calls(&calls_file).is_empty(), "{:?}", calls(&calls_file));
    assert!(!home.join("pm2.pid").exists(), "a pm2 daemon was started");
    assert_eq!(processes_with_pm2_home(&env, &home), Vec::<i32>::new());
}
