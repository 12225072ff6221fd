//! Monitoring the layouts users actually run: the released 7.x `worker.pid` JSON, the 13.x files
//! and API, and PM2-era hosts; plus the status JSON schema.

mod support_schema;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_claude-mem-top");
const T: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

struct Env {
    dir: tempfile::TempDir,
    port: u16,
    mode: &'static str,
    spawned: Vec<Child>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Env {
    fn new(mode: &'static str) -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
            port: free_port(),
            mode,
            spawned: Vec::new(),
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn worker_cmd(&self) -> String {
        format!("{BIN} stand-in-worker --mode {} --log-rate 20", self.mode)
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("CLAUDE_MEM_DATA_DIR", self.path())
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .env("CLAUDE_MEM_TOP_WORKER_CMD", self.worker_cmd())
            .env("HOME", self.path().join("home"))
            .env("PATH", "/usr/bin:/bin")
            .env_remove("PM2_HOME");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run")
    }
    /// Start the stand-in ourselves, as claude-mem's own hooks would (no claude-mem-top files).
    fn spawn_worker(&mut self) -> i32 {
        let mut c = Command::new(BIN);
        c.args(["stand-in-worker", "--mode", self.mode, "--log-rate", "20"])
            .env("CLAUDE_MEM_DATA_DIR", self.path())
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = c.spawn().expect("spawn stand-in");
        let pid = child.id() as i32;
        self.spawned.push(child);
        let port = self.port;
        wait_until("the worker listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        pid
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in &mut self.spawned {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < T, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn v13_status_reads_worker_pid_json_and_the_api() {
    let mut env = Env::new("13x");
    let pid = env.spawn_worker();
    wait_until("worker.pid", || env.path().join("worker.pid").exists());
    let out = env.run(&["status"]);
    let t = text(&out);
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
    let v = json(&out);
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["layout"], "13.x");
    assert_eq!(v["state"], "running");
    assert_eq!(v["pid"], pid);
    assert_eq!(v["api"]["version"], "13.25.3");
    assert_eq!(v["api"]["readiness"], "ready");
    assert_eq!(v["api"]["db_observations"], 1842);
    assert!(v["api"]["queue_depth"].is_u64(), "{v:#}");
}

#[test]
fn v13_wrong_start_token_is_stale_and_never_signalled() {
    let mut env = Env::new("13x");
    let pid = env.spawn_worker();
    let f = env.path().join("worker.pid");
    wait_until("worker.pid", || f.exists());
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

    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("start token"), "{}", text(&out));
    let out = env.run(&["stop", "--grace", "1s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("not signalled"), "{}", text(&out));
    assert!(
        alive(pid),
        "a worker whose token does not match is never signalled"
    );
    let out = env.run(&["start", "--timeout", "2s"]);
    assert!(
        !out.status.success(),
        "start must not launch a second worker on a held port"
    );
    assert!(text(&out).contains("in use"), "{}", text(&out));
    assert!(alive(pid));
}

#[test]
fn v13_stop_uses_the_admin_endpoint() {
    let mut env = Env::new("13x");
    let pid = env.spawn_worker();
    wait_until("worker.pid", || env.path().join("worker.pid").exists());
    let out = env.run(&["stop", "--grace", "3s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("Worker stopped (PID {pid})")),
        "{}",
        text(&out)
    );
    // The worker removed its own worker.pid, which only happens on its own clean shutdown.
    assert!(!env.path().join("worker.pid").exists());
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let log = std::fs::read_to_string(env.path().join(format!("logs/claude-mem-{date}.log")))
        .expect("13.x log");
    assert!(
        log.contains("Shutdown requested via /api/admin/shutdown"),
        "{log}"
    );
    wait_until("no process remains", || !alive(pid));
    assert_eq!(env.run(&["status"]).status.code(), Some(3));
}

fn write_v7(env: &Env, pid: i32, started: &str) {
    let body = format!("{{\n  \"pid\": {pid},\n  \"port\": {},\n  \"startedAt\": \"{started}\",\n  \"version\": \"unknown\"\n}}", env.port);
    std::fs::write(env.path().join("worker.pid"), body).expect("write worker.pid");
}

#[test]
fn v7_worker_pid_json_running_and_stop_removes_it() {
    let mut env = Env::new("spec");
    let pid = env.spawn_worker();
    write_v7(&env, pid, &claude_mem_top::procman::files::iso_now());
    let out = env.run(&["status", "--json"]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        (v["layout"].as_str(), v["pid"].as_i64(), v["port"].as_u64()),
        (Some("7.x"), Some(pid as i64), Some(env.port as u64))
    );
    let out = env.run(&["stop", "--grace", "3s"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("worker gone", || !alive(pid));
    assert!(
        !env.path().join("worker.pid").exists(),
        "stop removes the worker.pid it proved"
    );
}

#[test]
fn v7_started_at_long_before_the_process_is_stale() {
    let mut env = Env::new("spec");
    let pid = env.spawn_worker();
    write_v7(&env, pid, "2020-01-01T00:00:00.000Z");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("reused"), "{}", text(&out));
    assert!(env.run(&["stop"]).status.success());
    assert!(alive(pid), "never signalled");
}

#[test]
fn claude_mem_log_filters_multi_line_entries_whole() {
    let env = Env::new("spec");
    let logs = env.path().join("logs");
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
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
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

#[test]
fn pm2_era_host_is_reported_with_the_fix() {
    let env = Env::new("spec");
    let pm2 = env.path().join("pm2home");
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
    let has_argv0 = |pid: u32, what: &str| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(what))
    };
    wait_until("argv[0] set", || {
        has_argv0(daemon.id(), "God Daemon") && has_argv0(app.id(), "worker-service")
    });
    let out = env
        .cmd(&["status"])
        .env("PM2_HOME", &pm2)
        .output()
        .expect("status");
    let t = text(&out);
    assert!(
        t.contains(&format!("pm2 daemon PID {}", daemon.id()))
            && t.contains("claude-mem-top migrate"),
        "{t}"
    );
    let v = json(
        &env.cmd(&["status", "--json"])
            .env("PM2_HOME", &pm2)
            .output()
            .expect("json"),
    );
    assert_eq!(v["pm2"]["daemon_pid"], daemon.id());
    support_schema::check("assets/status.schema.json", &v);
    for c in [&mut daemon, &mut app] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn status_json_matches_its_schema_in_every_state() {
    let env = Env::new("spec");
    // stopped (data dir exists, nothing in it)
    let v = json(&env.run(&["status", "--json"]));
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "stopped");
    // stale
    std::fs::write(env.path().join(".worker.pid"), "abc").expect("write");
    let v = json(&env.run(&["status", "--json"]));
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "stale");
    std::fs::remove_file(env.path().join(".worker.pid")).expect("rm");
    // running
    assert!(env.run(&["start", "--timeout", "5s"]).status.success());
    let v = json(&env.run(&["--once", "--json"]));
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["state"], "running");
    assert!(env.run(&["stop"]).status.success());
}

#[test]
fn installed_7x_release_sees_our_worker_in_its_worker_pid() {
    let env = Env::new("spec");
    let plugin = env
        .path()
        .join("home/.claude/plugins/marketplaces/thedotmack/plugin");
    std::fs::create_dir_all(&plugin).expect("plugin dir");
    std::fs::write(
        plugin.join("package.json"),
        r#"{"name":"claude-mem","version":"7.1.0"}"#,
    )
    .expect("package.json");
    let out = env.run(&["start", "--timeout", "5s"]);
    assert!(out.status.success(), "{}", text(&out));
    let pid: i64 = std::fs::read_to_string(env.path().join(".worker.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("num");
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join("worker.pid")).expect("worker.pid JSON"),
    )
    .expect("json");
    assert_eq!(
        (v["pid"].as_i64(), v["port"].as_u64()),
        (Some(pid), Some(env.port as u64))
    );
    let st = env.run(&["status"]);
    assert!(
        text(&st).contains("claude-mem installed: 7.1.0"),
        "{}",
        text(&st)
    );
    assert!(env.run(&["stop"]).status.success());
    assert!(
        !env.path().join("worker.pid").exists(),
        "removed again on stop"
    );
    assert!(!env.path().join(".worker.pid").exists());
}
