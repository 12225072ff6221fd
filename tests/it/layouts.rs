//! Monitoring the layouts users actually run: the released 7.x `worker.pid` JSON, the 13.x files
//! and API, and PM2-era hosts; plus the status JSON schema.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

#[allow(unused_imports)]
use crate::common;
#[allow(unused_imports)]
use crate::support_schema;

use std::process::Command;
use std::time::Duration;

use crate::common::{alive, run, wait_listening, wait_until, Env, CALL};

const T: Duration = Duration::from_secs(10);

/// A test's world with the stand-in in `mode` (`13.x` or `spec`) as the worker command; the data
/// dir exists from the start, as an installed claude-mem's does.
fn new_env(mode: &str) -> Env {
    let env = Env::new().with_args(&format!("--mode {mode} --log-rate 20"));
    env.make_dir();
    env
}

/// Start the stand-in ourselves, as claude-mem's own hooks would (no claude-mem-top files), in a
/// session of its own.
fn spawn_worker(env: &Env) -> i32 {
    let mut c = env.worker_command(env.port, &[]);
    claude_mem_top::platform::detach(&mut c);
    let pid = env.own(c.spawn().expect("spawn stand-in"));
    wait_listening(env.port, T);
    pid
}

#[test]
fn v13_status_reads_worker_pid_json_and_the_api() {
    let env = new_env("13.x");
    let pid = spawn_worker(&env);
    wait_until(T, "worker.pid", || env.path("worker.pid").exists());
    let out = env.run(&["status"]);
    let t = out.text();
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Worker is running")
            && t.contains(&format!("PID: {pid}"))
            && t.contains(&format!("Port: {}", env.port)),
        "{t}"
    );
    assert!(
        t.contains("Uptime: ") && t.contains("version 13.25.3") && t.contains("layout 13.x"),
        "{t}"
    );

    let out = env.run(&["--once", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = out.json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["layout"], "13.x");
    assert_eq!(v["state"], "running");
    assert_eq!(v["pid"], pid);
    assert_eq!(v["api"]["version"], "13.25.3");
    assert_eq!(v["api"]["readiness"], "ready");
    assert_eq!(v["api"]["db_observations"], 1842);
    assert!(v["api"]["queue_depth"].is_u64(), "{v:#}");
}

/// What the stand-in on `port` was asked, `METHOD path` each.
fn asked(port: u16) -> Vec<String> {
    let seen = claude_mem_top::procman::health::get(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        port,
        "/api/stand-in/requests",
        Duration::from_secs(2),
    );
    seen.result
        .ok()
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .expect("the stand-in's request list")
}

#[test]
fn v13_readiness_is_read_from_api_health_without_a_request_of_its_own() {
    let env = new_env("13.x");
    spawn_worker(&env);
    wait_until(T, "worker.pid", || env.path("worker.pid").exists());
    let v = env.run(&["status", "--json"]).code(0).json();
    assert_eq!(v["api"]["readiness"], "ready", "{v:#}");
    let seen = asked(env.port);
    for p in [
        "/health",
        "/api/health",
        "/api/stats",
        "/api/processing-status",
        "/api/chroma/status",
    ] {
        assert!(
            seen.iter().any(|r| *r == format!("GET {p}")),
            "{p}: {seen:?}"
        );
    }
    assert!(!seen.iter().any(|r| r == "GET /api/readiness"), "{seen:?}");
}

#[test]
fn spec_layout_asks_api_health_first_and_the_rest_only_after_it_answered() {
    let env = new_env("spec");
    env.run(&["start"]).code(0);
    let v = env.run(&["status", "--json"]).code(0).json();
    assert_eq!(v["layout"], "spec", "{v:#}");
    // `/api/health` says `initialized`: readiness follows from it, with no request of its own.
    assert_eq!(v["api"]["readiness"], "ready", "{v:#}");
    let seen = asked(env.port);
    let at = |p: &str| seen.iter().position(|r| *r == format!("GET {p}"));
    let health = at("/api/health").unwrap_or_else(|| panic!("/api/health: {seen:?}"));
    for p in ["/api/stats", "/api/processing-status", "/api/chroma/status"] {
        let i = at(p).unwrap_or_else(|| panic!("{p}: {seen:?}"));
        assert!(i > health, "{p} before /api/health: {seen:?}");
    }
    assert!(!seen.iter().any(|r| r == "GET /api/readiness"), "{seen:?}");
    env.run(&["stop", "--grace", "2s"]).code(0);
}

#[test]
fn a_worker_with_only_health_is_asked_one_api_request() {
    // 7.1.0's worker answers /health and 404 elsewhere: one 404 tells there is no API.
    let env = Env::new().with_args("--mode spec --bare");
    env.make_dir();
    env.run(&["start"]).code(0);
    let before = asked(env.port).len();
    let v = env.run(&["--once", "--json"]).code(0).json();
    assert_eq!(v["state"], "running", "{v:#}");
    let seen = asked(env.port);
    // This read's requests (at once, in any order), and the list request that asked before.
    let mut this: Vec<&str> = seen[before..].iter().map(String::as_str).collect();
    this.sort_unstable();
    assert_eq!(
        this,
        [
            "GET /api/health",
            "GET /api/stand-in/requests",
            "GET /health"
        ],
        "one /health and one API request"
    );
    env.run(&["stop", "--grace", "2s"]).code(0);
}

#[test]
fn v13_wrong_start_token_is_stale_and_never_signalled() {
    let env = new_env("13.x");
    let pid = spawn_worker(&env);
    let f = env.path("worker.pid");
    wait_until(T, "worker.pid", || f.exists());
    let original = std::fs::read_to_string(&f).expect("read");
    let v: serde_json::Value = serde_json::from_str(&original).expect("json");
    let token: u64 = v["startToken"]
        .as_str()
        .expect("token")
        .parse()
        .expect("number");
    let forged = original.replace(
        &format!("\"startToken\": \"{token}\""),
        &format!("\"startToken\": \"{}\"", token + 12345),
    );
    assert_ne!(forged, original);
    std::fs::write(&f, forged).expect("write");

    // The file is stale, but the worker still answers: unmanaged (issue 12), never "not running".
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(151), "{}", out.text());
    assert!(out.text().contains("start token"), "{}", out.text());
    assert!(out.text().contains("stale PID file"), "{}", out.text());
    let out = env.run(&["stop", "--grace", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", out.text());
    assert!(out.text().contains("refusing to signal"), "{}", out.text());
    assert!(
        alive(pid),
        "a worker whose token does not match is never signalled"
    );
    let out = env.run(&["start", "--timeout", "2s"]);
    assert!(
        !out.status.success(),
        "start must not launch a second worker on a held port"
    );
    assert!(out.text().contains("in use"), "{}", out.text());
    assert!(alive(pid));
}

#[test]
fn v13_stop_uses_the_admin_endpoint() {
    let env = new_env("13.x");
    let pid = spawn_worker(&env);
    wait_until(T, "worker.pid", || env.path("worker.pid").exists());
    let out = env.run(&["stop", "--grace", "3s"]);
    assert!(out.status.success(), "{}", out.text());
    assert!(
        out.text().contains(&format!("Worker stopped (PID {pid})")),
        "{}",
        out.text()
    );
    // The worker removed its own worker.pid, which only happens on its own clean shutdown.
    assert!(!env.path("worker.pid").exists());
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let log = std::fs::read_to_string(env.path(&format!("logs/claude-mem-{date}.log")))
        .expect("13.x log");
    assert!(
        log.contains("Shutdown requested via /api/admin/shutdown"),
        "{log}"
    );
    wait_until(T, "no process remains", || !alive(pid));
    assert_eq!(env.run(&["status"]).status.code(), Some(3));
}

fn write_v7(env: &Env, pid: i32, started: &str) {
    let body = format!("{{\n  \"pid\": {pid},\n  \"port\": {},\n  \"startedAt\": \"{started}\",\n  \"version\": \"unknown\"\n}}", env.port);
    std::fs::write(env.path("worker.pid"), body).expect("write worker.pid");
}

#[test]
fn v7_worker_pid_json_running_and_stop_removes_it() {
    let env = new_env("spec");
    let pid = spawn_worker(&env);
    write_v7(&env, pid, &claude_mem_top::procman::files::iso_now());
    let out = env.run(&["status", "--json"]);
    let v = out.json();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        (v["layout"].as_str(), v["pid"].as_i64(), v["port"].as_u64()),
        (Some("7.x"), Some(pid as i64), Some(env.port as u64))
    );
    let out = env.run(&["stop", "--grace", "3s"]);
    assert!(out.status.success(), "{}", out.text());
    wait_until(T, "worker gone", || !alive(pid));
    assert!(
        !env.path("worker.pid").exists(),
        "stop removes the worker.pid it proved"
    );
}

#[test]
fn v7_started_at_long_before_the_process_is_stale() {
    let env = new_env("spec");
    let pid = spawn_worker(&env);
    write_v7(&env, pid, "2020-01-01T00:00:00.000Z");
    // Stale, while the worker answers: unmanaged (issue 12).
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(151), "{}", out.text());
    assert!(out.text().contains("reused"), "{}", out.text());
    assert_eq!(env.run(&["stop"]).status.code(), Some(1));
    assert!(alive(pid), "never signalled");
}

#[test]
fn claude_mem_log_filters_multi_line_entries_whole() {
    let env = new_env("spec");
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    std::fs::write(
        logs.join("worker-2026-01-01.log"),
        "[2026-01-01 00:00:00.000] [ERROR] [OLD   ] older file\n",
    )
    .expect("old");
    let newest = "[2026-11-24 10:53:24.194] [INFO ] [SYSTEM] HTTP server started {port=37888}\n\
[2026-11-24 10:53:24.206] [WARN ] [WORKER] Claude CLI dependency preflight failed. Please either:\n\
1. Add \"claude\" to your system PATH, or\n\
2. Set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json\n\
[2026-11-24 10:54:09.405] [INFO ] [SYSTEM] Received SIGTERM, shutting down...\n";
    std::fs::write(logs.join("claude-mem-2026-11-24.log"), newest).expect("new");
    let out = env.run(&["logs", "--level", "warn"]);
    assert!(out.status.success(), "{}", out.text());
    let s = &out.stdout;
    assert!(
        s.contains("preflight failed")
            && s.contains("1. Add \"claude\"")
            && s.contains("2. Set CLAUDE_CODE_PATH"),
        "{s}"
    );
    assert!(
        !s.contains("HTTP server started")
            && !s.contains("Received SIGTERM")
            && !s.contains("older file"),
        "{s}"
    );
}

// argv[0] renaming (CommandExt::arg0) is Unix only.
#[cfg(unix)]
#[test]
fn pm2_era_host_is_reported_with_the_fix() {
    let env = new_env("spec");
    let pm2 = env.path("pm2home");
    std::fs::create_dir_all(pm2.join("pids")).expect("pm2 dirs");
    // A stand-in "PM2 God Daemon" and app process (argv[0] set with bash's exec -a).
    let mut daemon = Command::new("bash")
        .args([
            "-c",
            "exec -a 'PM2 v5.3.0: God Daemon (/root/.pm2)' sleep 300",
        ])
        .spawn()
        .expect("fake daemon");
    let mut app = Command::new("bash")
        .args(["-c", "exec -a 'node /x/worker-service.cjs' sleep 300"])
        .spawn()
        .expect("fake app");
    std::fs::write(pm2.join("pm2.pid"), daemon.id().to_string()).expect("pm2.pid");
    std::fs::write(
        pm2.join("pids/claude-mem-worker-0.pid"),
        app.id().to_string(),
    )
    .expect("app pid");
    let has_argv0 = |pid: u32, what: &str| common::cmdline(pid as i32).join(" ").contains(what);
    wait_until(T, "argv[0] set", || {
        has_argv0(daemon.id(), "God Daemon") && has_argv0(app.id(), "worker-service")
    });
    let mut c = env.cmd(&["status"]);
    c.env("PM2_HOME", &pm2);
    let out = run(c, CALL);
    let t = out.text();
    assert!(
        t.contains(&format!("pm2 daemon PID {}", daemon.id()))
            && t.contains("claude-mem-top migrate"),
        "{t}"
    );
    let mut c = env.cmd(&["status", "--json"]);
    c.env("PM2_HOME", &pm2);
    let v = run(c, CALL).json();
    assert_eq!(v["pm2"]["daemon_pid"], daemon.id());
    support_schema::check("assets/status.schema.json", &v);
    for c in [&mut daemon, &mut app] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn status_json_matches_its_schema_in_every_state() {
    let env = new_env("spec");
    // stopped (data dir exists, nothing in it)
    let v = env.run(&["status", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "stopped");
    // stale
    std::fs::write(env.path(".worker.pid"), "abc").expect("write");
    let v = env.run(&["status", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "stale");
    std::fs::remove_file(env.path(".worker.pid")).expect("rm");
    // running
    assert!(env.run(&["start", "--timeout", "5s"]).status.success());
    let v = env.run(&["--once", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "running");
    assert!(env.run(&["stop"]).status.success());
}

#[test]
fn installed_7x_release_sees_our_worker_in_its_worker_pid() {
    let env = new_env("spec");
    let plugin = env
        .home
        .join(".claude/plugins/marketplaces/thedotmack/plugin");
    std::fs::create_dir_all(&plugin).expect("plugin dir");
    std::fs::write(
        plugin.join("package.json"),
        r#"{"name":"claude-mem","version":"7.1.0"}"#,
    )
    .expect("package.json");
    let out = env.run(&["start", "--timeout", "5s"]);
    assert!(out.status.success(), "{}", out.text());
    let pid: i64 = std::fs::read_to_string(env.path(".worker.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("num");
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path("worker.pid")).expect("worker.pid JSON"),
    )
    .expect("json");
    assert_eq!(
        (v["pid"].as_i64(), v["port"].as_u64()),
        (Some(pid), Some(env.port as u64))
    );
    let st = env.run(&["status"]);
    assert!(
        st.text().contains("claude-mem installed: 7.1.0"),
        "{}",
        st.text()
    );
    assert!(env.run(&["stop"]).status.success());
    assert!(!env.path("worker.pid").exists(), "removed again on stop");
    assert!(!env.path(".worker.pid").exists());
}
