//! Issue 6, cases 11–12: the `/health` probe against servers that misbehave, and proxy variables
//! that must not reach a loopback probe.
//!
//! The misbehaving servers run inside this test. To exercise the managed path (PID file →
//! proven process → `/health`) without a real worker, the PID file names this test process and
//! the worker command is this test's executable, so identity holds. Only `status` (read-only) and
//! `start` (which never signals an unhealthy worker) run against that setup; `stop` never does.

#[allow(unused_imports)]
use crate::common;

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::{alive, spawn, Env, FakeServer, Reply, CALL};

/// How long a probe against a fault may take: the 1 s HTTP timeout plus process start-up, with
/// room for a loaded machine.
const PROBE_BOUND: Duration = Duration::from_millis(2500);

/// A data dir whose PID file names this test process, with `port` recorded.
fn self_as_worker(port: u16) -> Env {
    let mut env = Env::new();
    env.stop_on_drop = false;
    env.port = port;
    let exe = std::env::current_exe().expect("test exe");
    env.extra_env.push((
        "CLAUDE_MEM_TOP_WORKER_CMD".into(),
        shlex_quote(&exe.to_string_lossy()).into(),
    ));
    let me = std::process::id();
    env.write(".worker.pid", me.to_string());
    env.write(".worker.port", format!("{port}\n{me}"));
    env
}

fn shlex_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn faults() -> Vec<(&'static str, Reply, &'static str)> {
    vec![
        (
            "500",
            Reply::Status(500, b"{\"error\":\"boom\"}".to_vec()),
            "HTTP 500",
        ),
        (
            "404",
            Reply::Status(404, b"<html>Cannot GET /health</html>".to_vec()),
            "HTTP 404",
        ),
        (
            "not HTTP",
            Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
            "not an HTTP response",
        ),
        ("never answering", Reply::Silent, "no answer within"),
        ("trickling", Reply::Trickle, "no answer within"),
        ("10 MB body", Reply::Huge, "larger than"),
        ("10 MB header", Reply::HugeHead, "not an HTTP response"),
        (
            "closed mid-header",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
            "closed",
        ),
        (
            "closed mid-body",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"sta".to_vec()),
            "closed",
        ),
    ]
}

// ---- case 11 ------------------------------------------------------------------------------

#[test]
fn case11_health_faults_are_unhealthy_with_the_reason_within_the_timeout() {
    // Memory of a plain status call, for comparison.
    let base = {
        let ok = FakeServer::start(Reply::Status(200, b"{\"status\":\"ok\"}".to_vec()));
        let env = self_as_worker(ok.port);
        let out = env.run(&["status"]);
        out.code(0);
        out.max_rss_kb
    };
    // All faults at once: each call is bounded on its own.
    let calls: Vec<_> = faults()
        .into_iter()
        .map(|(what, reply, reason)| {
            let server = FakeServer::start(reply);
            let env = self_as_worker(server.port);
            let call = spawn(env.cmd(&["status", "--json"]));
            (what, reason, server, env, call)
        })
        .collect();
    for (what, reason, server, _env, call) in calls {
        let out = call.wait(CALL);
        assert_eq!(out.code, 150, "{what}: {}", out.both());
        let v = out.json();
        assert_eq!(v["state"], "unhealthy", "{what}");
        assert_eq!(v["healthy"], false, "{what}");
        let http = &v["checks"][2];
        assert_eq!(http["name"], "http", "{what}");
        assert_eq!(http["ok"], false, "{what}");
        let detail = http["detail"].as_str().unwrap_or("");
        assert!(detail.contains(reason), "{what}: detail {detail:?}");
        assert!(
            v["reason"].as_str().is_some_and(|r| r.contains(reason)),
            "{what}: {}",
            out.stdout
        );
        assert!(
            out.elapsed < PROBE_BOUND,
            "{what}: status took {:?}",
            out.elapsed
        );
        // Memory bounded: a 10 MB answer must not be held in memory.
        assert!(
            out.max_rss_kb < base + 4 * 1024,
            "{what}: peak {} KiB vs {base} KiB for a plain status",
            out.max_rss_kb
        );
        assert!(
            server.hits.load(Ordering::SeqCst) >= 1,
            "{what}: never probed"
        );
    }
}

#[test]
fn case11_health_faults_without_pid_file_do_not_hang_status() {
    // No PID file: the port is probed for an unmanaged worker. A faulty answer is not a worker.
    let calls: Vec<_> = faults()
        .into_iter()
        .map(|(what, reply, reason)| {
            let server = FakeServer::start(reply);
            let mut env = Env::new();
            env.port = server.port;
            std::fs::create_dir_all(&env.dir).expect("data dir");
            let call = spawn(env.cmd(&["status", "--json"]));
            (what, reason, server, env, call)
        })
        .collect();
    for (what, reason, _server, _env, call) in calls {
        let out = call.wait(CALL);
        // A listener that accepts and then gives no answer in time is wedged: unhealthy, never
        // "not running" (issue 12). Any other faulty answer is not a worker.
        let want = if reason == "no answer within" { 150 } else { 3 };
        assert_eq!(out.code, want, "{what}: {}", out.both());
        if want == 150 {
            assert!(out.stdout.contains("wedged"), "{what}: {}", out.both());
        }
        let v = out.json();
        let http = v["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "http"))
            .cloned()
            .unwrap_or_default();
        assert!(
            http["detail"].as_str().is_some_and(|d| d.contains(reason)),
            "{what}: {}",
            out.stdout
        );
        // Whoever holds the port is named.
        assert_eq!(
            v["port_holder"]["pid"],
            std::process::id(),
            "{what}: {}",
            out.stdout
        );
        assert!(out.elapsed < PROBE_BOUND, "{what}: took {:?}", out.elapsed);
    }
}

#[test]
fn case11_ok_with_unparsable_body_is_healthy_with_a_note() {
    let server = FakeServer::start(Reply::Status(200, b"<<not json>>".to_vec()));
    let env = self_as_worker(server.port);
    let out = env.run(&["status", "--json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["state"], "running");
    let detail = v["checks"][2]["detail"].as_str().unwrap_or("");
    assert!(detail.contains("not JSON"), "{detail:?}");
}

#[test]
fn case11_start_never_kills_an_unhealthy_worker() {
    // A real stand-in answering 500, recorded in the PID file (started before it was written).
    std::thread::scope(|s| {
        for args in [&["--health-fail"][..], &["--health-hang"]] {
            s.spawn(move || start_never_kills(args));
        }
    });
}

fn start_never_kills(args: &[&str]) {
    let env = Env::new();
    let pid = env.spawn_worker_directly(env.port, args, true);
    env.write(".worker.pid", pid.to_string());
    env.write(".worker.port", format!("{}\n{pid}", env.port));
    let st = env.run(&["status"]);
    st.code(150);
    assert!(
        st.elapsed < PROBE_BOUND,
        "{args:?}: status took {:?}",
        st.elapsed
    );
    let out = env.run(&["start", "--timeout", "500ms"]);
    out.code(1);
    assert!(
        out.stderr.contains(&format!(
            "Worker is running but unhealthy (PID {pid}): GET /health"
        )),
        "{}",
        out.both()
    );
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert!(alive(pid), "start killed the unhealthy worker");
    assert_eq!(env.pid(), Some(pid), "start rewrote the PID file");
    // ensure: the same refusal, nothing on stdout (one variant is enough: each call against
    // a hanging /health costs its timeouts).
    if args == ["--health-fail"] {
        let e = env.run(&["ensure", "--timeout", "300ms"]);
        e.code(1);
        assert_eq!(e.stdout, "");
        assert!(alive(pid));
    }
    // restart does replace it (with the configured, healthy command).
    let r = env.run(&["restart", "--grace", "300ms"]);
    r.code(0);
    assert!(
        r.stdout.contains(&format!("Worker stopped (PID {pid})")),
        "{}",
        r.both()
    );
    assert!(!alive(pid), "restart stops the unhealthy worker");
    env.run(&["status"]).code(0);
}

// ---- case 12 ------------------------------------------------------------------------------

#[test]
fn case12_proxy_variables_do_not_break_the_loopback_probe() {
    // A "proxy" that would see any request sent through it, and a dead one.
    let trap = FakeServer::start(Reply::Silent);
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut env = Env::new();
    for (k, port) in [
        ("HTTP_PROXY", trap.port),
        ("http_proxy", trap.port),
        ("HTTPS_PROXY", trap.port),
        ("https_proxy", trap.port),
        ("ALL_PROXY", dead),
        ("all_proxy", dead),
    ] {
        env.extra_env
            .push((k.into(), format!("http://127.0.0.1:{port}").into()));
    }
    env.extra_env.push(("NO_PROXY".into(), "".into()));
    let start = env.run(&["start"]);
    start.code(0);
    let st = env.run(&["status"]);
    st.code(0);
    assert!(st.stdout.contains("200 OK"), "{}", st.both());
    assert!(st.elapsed < PROBE_BOUND, "{:?}", st.elapsed);
    env.run(&["ensure"]).code(0);
    env.run(&["stop", "--grace", "2s"]).code(0);
    assert_eq!(
        trap.hits.load(Ordering::SeqCst),
        0,
        "a probe went through the proxy"
    );
}
