//! Issue 13: a running dashboard follows the worker's `/stream` with exactly one connection (one
//! `sseClients`), through its sampling and across a worker restart.

// Pseudo-terminal tests: openpty and a controlling terminal (see pty_dashboard.rs).
#![cfg(unix)]

#[allow(unused_imports)]
use crate::common;
#[cfg(unix)]
#[allow(unused_imports)]
use crate::support_pty;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::common::{wait_until, Env};
use crate::support_pty::Pty;
use claude_mem_top::procman::health;

const T: Duration = Duration::from_secs(15);

fn sse_clients(port: u16) -> Option<u64> {
    let p = health::get(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        "/api/stats",
        Duration::from_secs(2),
    );
    p.result.ok()?.json()?["worker"]["sseClients"].as_u64()
}

/// For `span` (several of the dashboard's samples), the worker counts exactly one client.
fn stays_one(port: u16, span: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < span {
        assert_eq!(sse_clients(port), Some(1), "after {:?}", t0.elapsed());
        std::thread::sleep(common::POLL);
    }
}

#[test]
fn a_dashboard_is_one_sse_client_and_reconnects_after_a_restart() {
    let env = Env::new();
    env.make_dir();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let port = env.port;
    assert_eq!(sse_clients(port), Some(0));
    let mut pty = Pty::spawn(env.cmd(&["--interval", "250ms"]), 120, 40);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
    wait_until(T, "the dashboard's /stream connection", || {
        sse_clients(port) == Some(1)
    });
    // Ten samples later, still one.
    stays_one(port, Duration::from_millis(2500));

    // A new worker: the dashboard connects again, once.
    let old = env.pid().expect("pid");
    env.run(&["restart", "--grace", "2s"]).code(0);
    let new = env.pid().expect("pid");
    assert_ne!(old, new);
    wait_until(T, "a /stream connection to the new worker", || {
        sse_clients(port) == Some(1)
    });
    stays_one(port, Duration::from_millis(1500));

    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(pty.restored());
    wait_until(T, "the connection closed with the dashboard", || {
        sse_clients(port) == Some(0)
    });
    // Everything the dashboard asked the new worker was a GET (never `POST /api/logs/clear`, nor
    // any other mutating call), and it did ask for /stream.
    let seen = health::get(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        "/api/stand-in/requests",
        Duration::from_secs(2),
    );
    let seen: Vec<String> = seen
        .result
        .ok()
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .expect("the stand-in's request list");
    assert!(seen.iter().any(|r| r == "GET /stream"), "{seen:?}");
    let mutating: Vec<&String> = seen.iter().filter(|r| !r.starts_with("GET ")).collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    env.run(&["stop", "--grace", "2s"]).code(0);
}
