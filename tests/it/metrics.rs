//! Prometheus output: `--once --format prometheus`, `status --format prometheus` and
//! `serve-metrics`, parsed with a Prometheus text-format parser while the worker is up and down.

// Not on macOS: the parser (prometheus-parse) turns on chrono's local time zone, which links
// CoreFoundation, and the macOS build here links without Apple's SDK.
#![cfg(not(target_os = "macos"))]

#[allow(unused_imports)]
use crate::common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::Env;
use prometheus_parse::{Scrape, Value};

/// Parse, and check what the lenient parser would let pass: every sample line is a sample, every
/// family has HELP and TYPE once, before its samples, and its samples are contiguous.
fn parse(body: &str) -> Scrape {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut helped: HashSet<String> = HashSet::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut current = String::new();
    let mut sample_lines = 0;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("name");
            assert!(helped.insert(name.to_string()), "HELP twice: {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut f = rest.split(' ');
            let (name, kind) = (f.next().expect("name"), f.next().expect("type"));
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(
                typed.insert(name.into(), kind.into()).is_none(),
                "TYPE twice: {name}"
            );
        } else {
            assert!(
                !line.trim().is_empty() && !line.starts_with('#'),
                "odd line {line:?}"
            );
            sample_lines += 1;
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            assert!(
                typed.contains_key(&name) && helped.contains(&name),
                "untyped {name}"
            );
            if name != current {
                assert!(done.insert(name.clone()), "{name} samples not contiguous");
                current = name;
            }
        }
    }
    let scrape = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parses");
    assert_eq!(
        scrape.samples.len(),
        sample_lines,
        "some lines did not parse:\n{body}"
    );
    scrape
}

fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

fn once(env: &Env, args: &[&str], code: i32) -> Scrape {
    let out = env.run(args);
    out.code(code);
    parse(&out.stdout)
}

#[test]
fn prometheus_output_parses_with_the_worker_up_and_down() {
    let env = Env::stand_in("");
    env.make_dir();
    claude_mem_top::procman::db::create_demo(&env.path("claude-mem.db")).expect("demo db");
    env.run(&["start"]).code(0);

    for args in [
        &["--once", "--format", "prometheus"][..],
        &["status", "--format", "prometheus"][..],
    ] {
        let s = once(&env, args, 0);
        assert_eq!(value(&s, "claude_mem_worker_up", &[]), Some(1.0));
        assert_eq!(value(&s, "claude_mem_worker_healthy", &[]), Some(1.0));
        assert_eq!(
            value(&s, "claude_mem_worker_state", &[("state", "running")]),
            Some(1.0)
        );
        assert!(value(&s, "claude_mem_worker_resident_memory_bytes", &[]).is_some_and(|v| v > 0.0));
        assert!(value(&s, "claude_mem_worker_cpu_seconds_total", &[]).is_some_and(|v| v >= 0.0));
        assert!(value(&s, "claude_mem_worker_uptime_seconds", &[]).is_some());
        assert!(value(&s, "claude_mem_worker_health_latency_seconds", &[]).is_some_and(|v| v > 0.0));
        assert_eq!(
            value(&s, "claude_mem_db_rows", &[("table", "observations")]),
            Some(317.0)
        );
        assert_eq!(
            value(&s, "claude_mem_pending_messages", &[("status", "pending")]),
            Some(3.0)
        );
        assert!(value(&s, "claude_mem_db_bytes", &[]).is_some_and(|v| v > 0.0));
        assert!(value(&s, "claude_mem_db_wal_bytes", &[]).is_some());
        assert!(value(&s, "claude_mem_log_bytes", &[]).is_some_and(|v| v > 0.0));
        assert_eq!(
            value(&s, "claude_mem_worker_restarts_total", &[]),
            Some(0.0)
        );
        assert_eq!(value(&s, "claude_mem_supervisor_up", &[]), Some(0.0));
        // The runs from the worker's own log: this one, running.
        assert_eq!(
            value(&s, "claude_mem_worker_runs_total", &[("end", "running")]),
            Some(1.0)
        );
        assert_eq!(
            value(&s, "claude_mem_worker_runs_total", &[("end", "unclean")]),
            Some(0.0)
        );
        assert!(s
            .samples
            .iter()
            .any(|x| x.metric == "claude_mem_worker_info"
                && x.labels.get("port") == Some(env.port.to_string().as_str())));
    }

    env.run(&["stop"]).code(0);
    // Exit code as `status`: 3, not running.
    let s = once(&env, &["--once", "--format", "prometheus"], 3);
    assert_eq!(value(&s, "claude_mem_worker_up", &[]), Some(0.0));
    assert_eq!(value(&s, "claude_mem_worker_healthy", &[]), Some(0.0));
    assert_eq!(
        value(&s, "claude_mem_worker_state", &[("state", "stopped")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "claude_mem_worker_resident_memory_bytes", &[]),
        None
    );
    assert_eq!(
        value(&s, "claude_mem_db_rows", &[("table", "observations")]),
        Some(317.0)
    );
    // The stand-in logs its shutdown on SIGTERM (Unix; Windows' stop cannot let it log).
    #[cfg(unix)]
    {
        assert_eq!(
            value(&s, "claude_mem_worker_runs_total", &[("end", "clean")]),
            Some(1.0)
        );
        assert_eq!(
            value(&s, "claude_mem_worker_runs_total", &[("end", "running")]),
            Some(0.0)
        );
        assert_eq!(
            value(
                &s,
                "claude_mem_worker_previous_run_end",
                &[("end", "clean")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &s,
                "claude_mem_worker_previous_run_end",
                &[("end", "unclean")]
            ),
            Some(0.0)
        );
        assert!(value(&s, "claude_mem_worker_previous_run_uptime_seconds", &[]).is_some());
        assert!(value(
            &s,
            "claude_mem_worker_previous_run_end_timestamp_seconds",
            &[]
        )
        .is_some_and(|t| t > 1.7e9));
    }
}

/// A `serve-metrics` this test started; killed (only it) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(env: &Env) -> Server {
        let mut child = env
            .cmd(&["serve-metrics", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve-metrics");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read the address line");
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        Server { child, addr }
    }

    /// One HTTP/1.1 request; (status code, body).
    fn get(&self, method: &str, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
            self.addr
        )
        .expect("send");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        let (head, body) = resp.split_once("\r\n\r\n").expect("a head");
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        if code == 200 && method == "GET" && path == "/metrics" {
            assert_eq!(prometheus_length(head), body.len());
        }
        (code, body.to_string())
    }

    /// Send `request` as is; everything the server sent until it closed.
    fn raw(&self, request: &str) -> String {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(request.as_bytes()).expect("send");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        resp
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_metrics_answers_while_the_worker_is_down_and_up() {
    let env = Env::stand_in("");
    let server = Server::start(&env);

    let (code, body) = server.get("GET", "/metrics");
    assert_eq!(code, 200);
    let s = parse(&body);
    assert_eq!(value(&s, "claude_mem_worker_up", &[]), Some(0.0));

    env.run(&["start"]).code(0);
    let (code, body) = server.get("GET", "/metrics?x=1");
    assert_eq!(code, 200);
    let s = parse(&body);
    assert_eq!(value(&s, "claude_mem_worker_up", &[]), Some(1.0));
    assert_eq!(value(&s, "claude_mem_worker_healthy", &[]), Some(1.0));

    assert_eq!(server.get("GET", "/nope").0, 404);
    assert_eq!(server.get("POST", "/metrics").0, 405);
    assert_eq!(server.get("HEAD", "/metrics").0, 200);
    assert_eq!(server.get("GET", "/").0, 200);

    env.run(&["stop"]).code(0);
    let (code, body) = server.get("GET", "/metrics");
    assert_eq!(code, 200);
    assert_eq!(value(&parse(&body), "claude_mem_worker_up", &[]), Some(0.0));
}

#[test]
fn serve_metrics_stays_on_loopback_unless_told() {
    let env = Env::stand_in("");
    let out = env.run(&["serve-metrics", "--listen", "0.0.0.0:0"]);
    out.code(2);
    assert!(out.stderr.contains("not a loopback address"));

    // An address already taken (by a listener of this test's own): exit 1, naming it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = env.run(&["serve-metrics", "--listen", &addr]);
    out.code(1);
    assert!(
        out.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        out.stderr
    );
}

#[test]
fn serve_metrics_answers_beside_a_silent_client_and_closes_it() {
    let env = Env::stand_in("");
    let server = Server::start(&env);
    // A client that connects and sends nothing holds only its own connection.
    let mut silent = TcpStream::connect(&server.addr).expect("connect");
    let (code, body) = server.get("GET", "/metrics");
    assert_eq!(code, 200);
    assert_eq!(value(&parse(&body), "claude_mem_worker_up", &[]), Some(0.0));

    // HEAD: the head a GET gets, with its length, and no body.
    let head = server.raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "a body after the head: {head}");
    assert!(prometheus_length(&head) > 1000, "{head}");

    // Any method but GET and HEAD: 405, naming the allowed ones.
    let refused = server.raw("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 405 "), "{refused}");
    assert!(refused.contains("Allow: GET, HEAD\r\n"), "{refused}");
    // Not HTTP at all: 400, and the server goes on.
    assert!(server.raw("garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
    assert_eq!(server.get("GET", "/").0, 200);

    // The silent client is closed once the head timeout (5 s) is over: a read ends (0 bytes,
    // nothing was answered) well before this read timeout.
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    // A signal for another test's process (this binary runs them all) may interrupt the read.
    let n = loop {
        match silent.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => break r.expect("the server closes a silent connection before 20 s"),
        }
    };
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf[..n]));
}

/// A `/metrics` answer's head: Prometheus' text type, and the length it gives.
fn prometheus_length(head: &str) -> usize {
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    head.lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("Content-Length")
}
