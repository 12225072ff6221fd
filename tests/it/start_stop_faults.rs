//! Issue 6, cases 5–10: start and stop when things go wrong. Timeouts clean up after themselves,
//! early deaths are noticed at once, a held port names its holder, SIGTERM-deaf workers and their
//! children are killed, bad ports and missing programs fail with the documented codes.

#[allow(unused_imports)]
use crate::common;

use std::net::TcpListener;
use std::time::Duration;

use crate::common::{alive, spawn, wait_until, Env, CALL};

fn assert_no_files(env: &Env) {
    for f in [".worker.pid", ".worker.port", ".claude-mem-top.worker.json"] {
        assert!(!env.exists(f), "{f} left behind");
    }
}

// ---- case 5 -------------------------------------------------------------------------------

#[test]
fn case05_never_healthy_times_out_kills_the_group_and_cleans_files() {
    for (what, args) in [
        ("/health hangs", "--health-hang --spawn-child"),
        ("/health answers 500", "--health-fail --spawn-child"),
        ("never listens", "--slow-start 60000 --spawn-child"),
    ] {
        let env = Env::new().with_args(args);
        let start = spawn(env.cmd(&["start", "--timeout", "1s"]));
        // Watch its family while it waits.
        let mut family = Vec::new();
        wait_until(Duration::from_secs(10), "the worker and its child", || {
            family = env.ours();
            family.len() == 2
        });
        let out = start.wait(CALL);
        assert_eq!(out.code, 1, "{what}: {}", out.both());
        assert!(
            out.stderr.contains("Health check timed out after 1s"),
            "{what}: {}",
            out.both()
        );
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{what}: took {:?}",
            out.elapsed
        );
        // No orphan: the worker and the child in its group are gone when start returns.
        for p in &family {
            assert!(!alive(*p), "{what}: PID {p} survived the timeout");
        }
        assert_no_files(&env);
        env.run(&["status"]).code(3);
    }
}

// ---- case 6 -------------------------------------------------------------------------------

#[test]
fn case06_exit_during_startup_is_reported_at_once_with_the_log_tail() {
    for (what, args, limit) in [
        (
            "dies at once",
            "--die-before-listen",
            Duration::from_millis(1500),
        ),
        (
            "dies after 300 ms",
            "--slow-start 300 --die-before-listen",
            Duration::from_millis(1800),
        ),
    ] {
        let env = Env::new().with_args(args);
        let out = env.run(&["start", "--timeout", "20s"]);
        assert_eq!(out.code, 1, "{what}: {}", out.both());
        assert!(
            out.stderr
                .contains("Process died during startup (exit code 3)"),
            "{what}: {}",
            out.both()
        );
        // The tail of its log, in the message.
        assert!(
            out.stderr.contains("SQLITE_CANTOPEN"),
            "{what}: {}",
            out.both()
        );
        assert!(
            out.stderr.contains(&env.log_path().display().to_string()),
            "{what}: {}",
            out.both()
        );
        // Noticed at once, not after the 20 s health timeout.
        assert!(out.elapsed < limit, "{what}: took {:?}", out.elapsed);
        assert_no_files(&env);
    }
}

// ---- case 7 -------------------------------------------------------------------------------

#[test]
fn case07_port_held_by_a_foreign_listener_names_the_holder_and_kills_nothing() {
    // 1. A listener inside this test process (it never answers HTTP).
    let env = Env::new();
    let held = TcpListener::bind(("127.0.0.1", env.port)).expect("hold the port");
    let out = env.run(&["start", "--timeout", "2s"]);
    out.code(1);
    let me = std::process::id();
    assert!(
        out.stderr
            .contains(&format!("Port {} is already in use by PID {me}", env.port)),
        "{}",
        out.both()
    );
    let exe = std::env::current_exe().expect("exe");
    let exe_name = exe
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        out.stderr.contains(&exe_name),
        "names the command: {}",
        out.both()
    );
    assert_no_files(&env);
    assert!(env.workers().is_empty());
    assert!(held.local_addr().is_ok());
    drop(held);

    // 2. Another process (a stand-in answering 500, no PID file): named, and still alive.
    let env = Env::new();
    let foreign = env.spawn_worker_directly(env.port, &["--health-fail"], true);
    let out = env.run(&["start", "--timeout", "2s"]);
    out.code(1);
    assert!(
        out.stderr.contains(&format!("PID {foreign} (")) && out.stderr.contains("stand-in-worker"),
        "{}",
        out.both()
    );
    assert!(alive(foreign), "start killed the port's holder");
    let st = env.run(&["status"]);
    assert!(
        st.stdout.contains(&format!("held by: PID {foreign}")),
        "{}",
        st.both()
    );
    env.run(&["stop", "--grace", "300ms"]);
    assert!(alive(foreign), "stop killed the port's holder");
}

// ---- case 8 -------------------------------------------------------------------------------

#[test]
fn case08_worker_ignoring_sigterm_is_killed_after_the_grace_period_with_its_child() {
    let env = Env::new().with_args("--ignore-sigterm --spawn-child");
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("pid");
    let mut family = Vec::new();
    wait_until(Duration::from_secs(10), "the worker's child", || {
        family = env.ours();
        family.len() == 2
    });
    let out = env.run(&["stop", "--grace", "500ms"]);
    out.code(0);
    assert!(
        out.stdout.contains(&format!("Worker stopped (PID {pid})"))
            && out.stdout.contains("SIGKILL after the grace period"),
        "{}",
        out.both()
    );
    // The grace period is waited out where a graceful stop can be delivered (SIGTERM); a detached
    // Windows worker has no console for CTRL_BREAK, so it is terminated at once.
    #[cfg(unix)]
    assert!(
        out.elapsed >= Duration::from_millis(500),
        "{:?}",
        out.elapsed
    );
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    for p in &family {
        assert!(!alive(*p), "PID {p} survived stop");
    }
    assert_no_files(&env);
    env.run(&["status"]).code(3);
}

#[test]
fn case08_worker_sharing_our_process_group_is_stopped_without_signalling_the_group() {
    // A worker that does not lead its own group (started directly by this test, in its group):
    // stop must signal it and its descendants only, never the group (that would hit this test
    // and a bystander sleeping in the same group).
    let env = Env::new();
    let bystander = env.spawn_sleep();
    let pid = env.spawn_worker_directly(env.port, &["--ignore-sigterm", "--spawn-child"], true);
    env.write(".worker.pid", pid.to_string());
    env.write(".worker.port", format!("{}\n{pid}", env.port));
    let mut family = Vec::new();
    wait_until(Duration::from_secs(10), "the worker's child", || {
        family = env.ours();
        family.len() == 2
    });
    env.run(&["status"]).code(0);
    let out = env.run(&["stop", "--grace", "300ms"]);
    out.code(0);
    assert!(out.stdout.contains("SIGKILL"), "{}", out.both());
    for p in &family {
        assert!(!alive(*p), "PID {p} survived stop");
    }
    assert!(
        alive(bystander),
        "stop signalled a bystander in the same group"
    );
}

// ---- case 9 -------------------------------------------------------------------------------

const BAD_PORTS: &[&str] = &[
    "0", "80", "1023", "65536", "70000", "-1", "37777abc", "", " 37777", "37777.5",
];

fn assert_invalid(out: &common::Out, value: &str, source: &str) {
    assert_eq!(out.code, 2, "{value:?} from {source}: {}", out.both());
    assert!(
        out.stderr.contains("Invalid port") && out.stderr.contains(source),
        "{value:?} from {source}: {}",
        out.both()
    );
    let shown = if value.is_empty() || value.trim() != value {
        format!("{value:?}")
    } else {
        value.to_string()
    };
    assert!(out.stderr.contains(&shown), "{value:?}: {}", out.both());
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "one clear line: {}",
        out.both()
    );
}

#[test]
fn case09_invalid_ports_from_flag_env_and_settings_fail_with_exit_2() {
    let env = Env::new();
    let settings = env.path("settings.json").display().to_string();
    for v in BAD_PORTS {
        for cmd in ["status", "start"] {
            // --port
            let flag = format!("--port={v}");
            assert_invalid(&env.run(&[cmd, &flag]), v, "--port");
            // env
            let mut c = env.cmd(&[cmd]);
            c.env("CLAUDE_MEM_WORKER_PORT", v);
            assert_invalid(&common::run(c, CALL), v, "env CLAUDE_MEM_WORKER_PORT");
            // settings.json, as a string
            env.write(
                "settings.json",
                serde_json::json!({ "CLAUDE_MEM_WORKER_PORT": v }).to_string(),
            );
            let mut c = env.cmd(&[cmd]);
            c.env_remove("CLAUDE_MEM_WORKER_PORT");
            let src = format!("CLAUDE_MEM_WORKER_PORT in {settings}");
            assert_invalid(&common::run(c, CALL), v, &src);
            // …and as a number, where it is one; nested under "env" too.
            let number = serde_json::from_str::<serde_json::Number>(v).ok();
            if let Some(n) = number.filter(|_| v.trim() == *v) {
                for doc in [
                    serde_json::json!({ "CLAUDE_MEM_WORKER_PORT": n }),
                    serde_json::json!({ "env": { "CLAUDE_MEM_WORKER_PORT": n } }),
                ] {
                    env.write("settings.json", doc.to_string());
                    let mut c = env.cmd(&[cmd]);
                    c.env_remove("CLAUDE_MEM_WORKER_PORT");
                    assert_invalid(&common::run(c, CALL), v, &src);
                }
            }
            std::fs::remove_file(env.path("settings.json")).expect("rm settings");
        }
    }
    // Nothing was started and nothing but our own test file was ever written.
    assert!(env.workers().is_empty());
    let left: Vec<_> = std::fs::read_dir(&env.dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "files written despite bad config: {left:?}"
    );
}

// ---- case 10 ------------------------------------------------------------------------------

// The fake bun is a shell script.
#[cfg(unix)]
#[test]
fn case10_bun_missing_and_worker_script_missing_exit_5_with_the_spec_messages() {
    let env = Env::new();
    let run_default = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env_remove("CLAUDE_MEM_TOP_WORKER_CMD");
        common::run(c, CALL)
    };
    let out = run_default(&["start"]);
    out.code(5);
    assert_eq!(
        out.stderr.trim_end(),
        "claude-mem-top: Bun is required but not found in PATH"
    );
    assert_no_files(&env);

    // bun present, the script not.
    env.script("bun", "echo fake bun; exit 0");
    let out = run_default(&["start"]);
    out.code(5);
    let script = env
        .home
        .join(".claude/plugins/marketplaces/thedotmack/plugin/scripts/worker-service.cjs");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "claude-mem-top: Worker script not found at {}",
            script.display()
        )
    );
    assert_no_files(&env);
    // ensure says the same, on stderr only.
    let out = run_default(&["ensure"]);
    out.code(5);
    assert_eq!(out.stdout, "");

    // A --worker-cmd program that does not exist: exit 5 too.
    let out = env.run(&["start", "--worker-cmd", "/nonexistent/worker --flag"]);
    out.code(5);
    assert!(out.stderr.contains("/nonexistent/worker"), "{}", out.both());
}

/// A refused `start` changes nothing on disk (issue 28): no lock file, no PM2 marker, no log.
#[cfg(unix)]
#[test]
fn a_refused_start_leaves_the_data_dir_as_it_was() {
    let listing = |env: &Env| {
        let mut names: Vec<String> = std::fs::read_dir(&env.dir)
            .expect("data dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // A `.worker.pid` that is a symlink: state unknown (4).
    let env = Env::stand_in("");
    env.make_dir();
    std::os::unix::fs::symlink("/etc/hostname", env.path(".worker.pid")).expect("symlink");
    let before = listing(&env);
    let out = env.run(&["start"]);
    assert_eq!(out.code, 4, "{}", out.both());
    assert_eq!(listing(&env), before);
    // The port taken by another program: port in use (1).
    let mut env = Env::stand_in("");
    env.stop_on_drop = false;
    env.make_dir();
    let l = std::net::TcpListener::bind(("127.0.0.1", env.port)).expect("bind");
    let before = listing(&env);
    let out = env.run(&["start"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("in use"), "{}", out.both());
    assert_eq!(listing(&env), before);
    // Nor does a refused restart or adopt.
    for action in [&["restart"][..], &["adopt"], &["ensure"]] {
        let out = env.run(action);
        assert_eq!(out.code, 1, "{action:?}: {}", out.both());
        assert_eq!(listing(&env), before, "{action:?}");
    }
    drop(l);
}
