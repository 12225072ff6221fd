//! `GET /stream` (issue 13): the core's SSE client against the real stand-in worker over loopback:
//! frames typed, one connection counts as exactly one `sseClients`, reconnects after the worker
//! restarts, a 503 before the DB is ready is retried.

#[allow(unused_imports)]
use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::common::{kill, Env};
use claude_mem_top::procman::health;
use claude_mem_top::procman::stream::{self, Disconnect, Frame, StreamEvent};
use tokio::sync::{mpsc, watch};

const HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LIMIT: Duration = Duration::from_secs(10);

/// `stream::follow` on a runtime of its own thread (as in the dashboard, the runtime always
/// runs); its events forwarded to the test. Dropping it drops the port sender, which ends the
/// follower and its connection.
struct Follower {
    rx: std::sync::mpsc::Receiver<StreamEvent>,
    port: watch::Sender<Option<u16>>,
}

impl Follower {
    fn start(port: u16) -> Follower {
        let (port_tx, port_rx) = watch::channel(Some(port));
        let (out, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (tx, mut events) = mpsc::channel(64);
                let forward = async move {
                    while let Some(e) = events.recv().await {
                        if out.send(e).is_err() {
                            break;
                        }
                    }
                };
                tokio::join!(stream::follow(HOST, port_rx, tx), forward);
            });
        });
        Follower { rx, port: port_tx }
    }

    /// The next event within the limit.
    fn next(&mut self) -> StreamEvent {
        self.rx
            .recv_timeout(LIMIT)
            .expect("an event within the limit")
    }

    /// Events until one matches; the ones before it are returned too.
    fn until(&mut self, what: &str, f: impl Fn(&StreamEvent) -> bool) -> Vec<StreamEvent> {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        loop {
            assert!(t0.elapsed() < LIMIT, "no {what}; saw {seen:?}");
            let ev = self.next();
            let hit = f(&ev);
            seen.push(ev);
            if hit {
                return seen;
            }
        }
    }
}

fn sse_clients(port: u16) -> Option<u64> {
    let p = health::get(HOST, port, "/api/stats", Duration::from_secs(2));
    p.result.ok()?.json()?["worker"]["sseClients"].as_u64()
}

fn trigger(port: u16, kind: &str) {
    let p = health::request(
        HOST,
        port,
        "POST",
        &format!("/api/stand-in/{kind}"),
        Duration::from_secs(2),
    );
    assert!(
        matches!(&p.result, Ok(r) if r.status == 200),
        "{kind}: {}",
        p.detail()
    );
}

/// Until the worker reports `want` SSE clients (the count drops when the server sees a close).
fn wait_clients(port: u16, want: u64) {
    common::wait_until(LIMIT, &format!("{want} sseClients on {port}"), || {
        sse_clients(port) == Some(want)
    });
}

#[test]
fn frames_arrive_typed_and_one_follower_is_one_sse_client() {
    let env = Env::new();
    let port = env.port;
    env.spawn_worker_directly(port, &[], true);
    assert_eq!(sse_clients(port), Some(0));
    let mut f = Follower::start(port);
    assert_eq!(f.next(), StreamEvent::Connected { port });
    assert_eq!(f.next(), StreamEvent::Frame(Frame::Connected));
    assert_eq!(
        f.next(),
        StreamEvent::Frame(Frame::InitialLoad {
            projects: vec!["stand-in-project".into()],
            sources: vec!["claude".into()],
        })
    );
    assert_eq!(
        f.next(),
        StreamEvent::Frame(Frame::ProcessingStatus {
            is_processing: false,
            queue_depth: 0
        })
    );
    assert_eq!(sse_clients(port), Some(1));

    trigger(port, "new_observation");
    match f.next() {
        StreamEvent::Frame(Frame::NewObservation(o)) => {
            assert_eq!(o.project.as_deref(), Some("stand-in-project"));
            assert_eq!(o.kind.as_deref(), Some("discovery"));
            assert!(
                o.title
                    .as_deref()
                    .is_some_and(|t| t.starts_with("Stand-in observation")),
                "{o:?}"
            );
            assert!(o.id.is_some() && o.created_at_epoch.is_some(), "{o:?}");
        }
        other => panic!("wanted new_observation, got {other:?}"),
    }
    trigger(port, "new_prompt");
    assert!(
        matches!(f.next(), StreamEvent::Frame(Frame::NewPrompt(p)) if p.prompt_text.as_deref().is_some_and(|t| t.starts_with("Stand-in prompt")))
    );
    trigger(port, "new_summary");
    assert!(matches!(f.next(), StreamEvent::Frame(Frame::NewSummary(s)) if s.request.is_some()));
    trigger(port, "session_started");
    assert!(matches!(
        f.next(),
        StreamEvent::Frame(Frame::SessionStarted { session_db_id: Some(_), project: Some(p) }) if p == "stand-in-project"
    ));
    trigger(port, "observation_queued");
    assert!(matches!(
        f.next(),
        StreamEvent::Frame(Frame::ObservationQueued {
            session_db_id: Some(_)
        })
    ));
    trigger(port, "session_completed");
    assert!(matches!(
        f.next(),
        StreamEvent::Frame(Frame::SessionCompleted {
            session_db_id: Some(_)
        })
    ));
    // Still exactly one client after all that.
    assert_eq!(sse_clients(port), Some(1));
    // Dropping the follower closes its connection.
    drop(f);
    wait_clients(port, 0);
}

#[test]
fn the_follower_reconnects_after_the_worker_restarts_and_stays_one_client() {
    let env = Env::new();
    let port = env.port;
    let first = env.spawn_worker_directly(port, &[], true);
    let mut f = Follower::start(port);
    f.until("initial_load", |e| {
        matches!(e, StreamEvent::Frame(Frame::InitialLoad { .. }))
    });
    assert_eq!(sse_clients(port), Some(1));

    kill(first);
    let seen = f.until("a drop", |e| matches!(e, StreamEvent::Dropped { .. }));
    match seen.last() {
        Some(StreamEvent::Dropped { retry_in, .. }) => {
            assert!(*retry_in <= stream::Backoff::CAP, "{retry_in:?}")
        }
        other => panic!("{other:?}"),
    }
    // While nothing listens, the follower backs off: refused, with growing delays.
    let _second_drop = f.until("a refused retry", |e| {
        matches!(
            e,
            StreamEvent::Dropped {
                why: Disconnect::Refused,
                ..
            }
        )
    });

    env.spawn_worker_directly(port, &[], true);
    let seen = f.until("a new connection", |e| {
        matches!(e, StreamEvent::Connected { .. })
    });
    assert_eq!(seen.last(), Some(&StreamEvent::Connected { port }));
    f.until("initial_load again", |e| {
        matches!(e, StreamEvent::Frame(Frame::InitialLoad { .. }))
    });
    assert_eq!(sse_clients(port), Some(1));
    trigger(port, "new_observation");
    f.until("an observation from the new worker", |e| {
        matches!(e, StreamEvent::Frame(Frame::NewObservation(_)))
    });
    assert_eq!(sse_clients(port), Some(1));
}

#[test]
fn a_503_before_the_db_is_ready_is_retried_until_the_stream_opens() {
    let env = Env::new();
    let port = env.port;
    env.spawn_worker_directly(port, &["--stream-unready", "1200"], true);
    let mut f = Follower::start(port);
    let seen = f.until("a connection", |e| {
        matches!(e, StreamEvent::Connected { .. })
    });
    assert!(
        seen.iter().any(|e| matches!(
            e,
            StreamEvent::Dropped {
                why: Disconnect::NotReady,
                ..
            }
        )),
        "{seen:?}"
    );
    f.until("initial_load", |e| {
        matches!(e, StreamEvent::Frame(Frame::InitialLoad { .. }))
    });
    assert_eq!(sse_clients(port), Some(1));
}

#[test]
fn a_new_port_moves_the_one_connection() {
    let env = Env::new();
    let (a, b) = (env.port, common::free_port());
    env.spawn_worker_directly(a, &[], true);
    env.spawn_worker_directly(b, &[], true);
    let mut f = Follower::start(a);
    assert_eq!(f.next(), StreamEvent::Connected { port: a });
    f.port.send_replace(Some(b));
    let mut seen = Vec::new();
    loop {
        let ev = f.next();
        if ev == (StreamEvent::Connected { port: b }) {
            break;
        }
        assert!(seen.len() < 20, "{seen:?}");
        seen.push(ev);
    }
    assert!(
        seen.contains(&StreamEvent::Dropped {
            why: Disconnect::PortChanged,
            retry_in: Duration::ZERO
        }),
        "{seen:?}"
    );
    wait_clients(a, 0);
    wait_clients(b, 1);
}
