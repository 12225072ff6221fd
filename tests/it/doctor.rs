//! `claude-mem-top doctor`, black-box: a broken setup names every problem with a fix and exits 1;
//! a healthy one exits 0. The JSON output follows assets/doctor.schema.json.

#[allow(unused_imports)]
use crate::common;
#[allow(unused_imports)]
use crate::support_schema;

#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::common::Env;
use serde_json::Value;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/doctor.schema.json");

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// A PID that certainly names no process: a child of ours that has exited and been reaped.
fn dead_pid() -> i32 {
    let mut c = Command::new(common::BIN)
        .arg("--version")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn claude-mem-top --version");
    let pid = c.id() as i32;
    c.wait().expect("reap it");
    pid
}

#[test]
fn stale_pid_file_occupied_port_and_missing_script_all_fail_with_fixes() {
    let env = Env::default_worker();
    env.make_dir();
    let pid_file = env.path(".worker.pid");
    std::fs::write(&pid_file, dead_pid().to_string()).expect("write pid file");
    env.age(".worker.pid", 30);
    // The port is taken by this test process.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", env.port)).expect("occupy the port");

    let out = env.run(&["doctor"]);
    out.code(1);
    let stdout = out.stdout.clone();
    let fail_line = |needle: &str| {
        let lines: Vec<&str> = stdout.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with("FAIL") && l.contains(needle))
            .unwrap_or_else(|| panic!("no FAIL line with {needle:?}:\n{stdout}"));
        let fix = lines.get(i + 1).copied().unwrap_or("");
        assert!(fix.contains("fix: "), "no fix under {needle:?}:\n{stdout}");
        fix.to_string()
    };
    let fix = fail_line(".worker.pid");
    assert!(
        fix.contains("claude-mem-top start") || fix.contains("delete"),
        "{fix}"
    );
    let me = std::process::id();
    fail_line(&format!(
        "port {} (env CLAUDE_MEM_WORKER_PORT) is in use by PID {me}",
        env.port
    ));
    fail_line("Worker script not found at");
    assert!(stdout.contains("worker-service.cjs"), "{stdout}");

    let out = env.run(&["doctor", "--json"]);
    out.code(1);
    let report: Value = out.json();
    support_schema::check(SCHEMA, &report);
    for id in ["pid_files", "port", "worker_script"] {
        let c = check(&report, id);
        assert_eq!(c["status"], "fail", "{id}: {c:#}");
        assert!(
            c["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "{id} has no fix: {c:#}"
        );
    }
    assert!(report["summary"]["fail"].as_u64().is_some_and(|n| n >= 3));
    assert!(check(&report, "port")["message"]
        .as_str()
        .is_some_and(|m| m.contains(&format!("PID {me}"))));
    // The doctor only looks: the stale file is still there.
    assert!(pid_file.exists());
}

#[test]
fn healthy_setup_exits_zero() {
    let env = Env::stand_in("");
    env.run(&["start"]).code(0);

    let out = env.run(&["doctor"]);
    out.code(0);
    let stdout = &out.stdout;
    assert!(stdout.contains("0 failed"), "{stdout}");
    assert!(stdout.contains("running and healthy"), "{stdout}");

    let out = env.run(&["doctor", "--json"]);
    out.code(0);
    let report: Value = out.json();
    support_schema::check(SCHEMA, &report);
    assert_eq!(report["summary"]["fail"], 0, "{report:#}");
    for id in ["worker", "pid_files", "port", "worker_script", "data_dir"] {
        assert_eq!(check(&report, id)["status"], "ok", "{id}: {report:#}");
    }
}

// A fake pm2 daemon renamed through argv[0] (CommandExt::arg0): Unix only.
#[cfg(unix)]
#[test]
fn broken_settings_pm2_leftovers_and_big_logs_are_reported() {
    let env = Env::stand_in("");
    std::fs::create_dir_all(env.path("logs")).expect("logs dir");
    std::fs::write(env.path("settings.json"), "{ not json").expect("settings");
    // 600 MB of log, sparse: the size users see, no disk used.
    let big = env.path("logs/worker-2026-01-01.log");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(600 * 1024 * 1024))
        .expect("big log");
    // A PM2 home whose daemon and claude-mem-worker app are alive (a `sleep` this test owns,
    // named like the pm2 daemon).
    let pm2 = env.home.join(".pm2");
    std::fs::create_dir_all(pm2.join("pids")).expect("pm2 home");
    let mut fake = Command::new("sleep")
        .arg0(format!("PM2 v5.3.0: God Daemon ({})", pm2.display()))
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let fake_pid = fake.id();
    std::fs::write(pm2.join("pm2.pid"), fake_pid.to_string()).expect("pm2.pid");
    std::fs::write(
        pm2.join("pids/claude-mem-worker-0.pid"),
        fake_pid.to_string(),
    )
    .expect("app pid");

    let out = env.run(&["doctor", "--json"]);
    let _ = fake.kill();
    let _ = fake.wait();
    // A broken settings.json is a finding, not a usage error (exit 2).
    out.code(1);
    let report: Value = out.json();
    support_schema::check(SCHEMA, &report);
    let settings = check(&report, "settings");
    assert_eq!(settings["status"], "fail", "{settings:#}");
    assert!(settings["message"]
        .as_str()
        .is_some_and(|m| m.contains("not valid JSON")));
    let logs = check(&report, "logs");
    assert_eq!(logs["status"], "warn", "{logs:#}");
    assert!(logs["message"]
        .as_str()
        .is_some_and(|m| m.contains("worker-2026-01-01.log")));
    let p = check(&report, "pm2");
    assert_eq!(p["status"], "fail", "{p:#}");
    assert!(p["message"]
        .as_str()
        .is_some_and(|m| m.contains(&format!("PID {fake_pid}"))));
    assert_eq!(check(&report, "pm2_marker")["status"], "warn");
}
