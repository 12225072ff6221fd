//! The worker's live feed: `GET /stream` (Server-Sent Events) as typed [`Frame`]s.
//!
//! # API
//!
//! ```text
//! let (port_tx, port_rx) = tokio::sync::watch::channel(Some(port)); // None: no worker to follow
//! let (tx, mut rx) = tokio::sync::mpsc::channel::<StreamEvent>(64);
//! tokio::spawn(stream::follow(host, port_rx, tx));
//! while let Some(ev) = rx.recv().await { /* StreamEvent::Frame(Frame::NewObservation(o)) … */ }
//! ```
//!
//! - [`follow`] keeps exactly one connection to `/stream` at a time and reconnects with
//!   exponential backoff ([`Backoff`]: 0.5 s doubling to 30 s, back to 0.5 s after a connection
//!   that delivered a frame). A 503 (the worker's DB is not ready yet) is [`Disconnect::NotReady`]:
//!   retried later like any other drop. A new port on the watch channel drops the connection and
//!   connects to the new port at once; `None` waits without connecting. It ends when the event
//!   receiver is dropped (or the watch sender is).
//! - It only ever sends `GET /stream`: nothing mutating (never `POST /api/logs/clear`).
//! - [`StreamEvent::Connected`] arrives once per connection (after the 200 head), then the
//!   frames, then one [`StreamEvent::Dropped`] with the reason and the delay before the next try.
//! - Frames are data-only JSON (`data: {"type":"new_observation",…}` + blank line). Known types
//!   become their variants, anything else [`Frame::Other`]: a frame is never an error. A frame
//!   over [`FRAME_CAP`] is skipped (counted in [`Frame::Other`] as `"(oversized)"`).
//! - The parser ([`Parser`]) is plain data, usable without a runtime.
//!
//! Shapes (13.25.3's bundle; every frame also carries `timestamp`): `connected`, `initial_load
//! {projects, sources, projectsBySource}`, `processing_status {isProcessing, queueDepth}`,
//! `new_observation {observation: {id, project, type, title, subtitle, created_at_epoch, …}}`,
//! `new_summary {summary: {id, project, request, completed, …}}`, `new_prompt {prompt: {id,
//! project, prompt_number, prompt_text, …}}`, `session_started {sessionDbId, project}`,
//! `observation_queued {sessionDbId}`, `session_completed {sessionDbId}`.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::health::ProbeError;
use super::http;

/// Largest frame kept (an observation's narrative can be long; nothing legitimate is near this).
pub const FRAME_CAP: usize = 1024 * 1024;
/// How long the 200 head may take.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

/// One frame of the feed.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Connected,
    InitialLoad {
        projects: Vec<String>,
        sources: Vec<String>,
    },
    ProcessingStatus {
        is_processing: bool,
        queue_depth: u64,
    },
    NewObservation(Observation),
    NewSummary(Summary),
    NewPrompt(Prompt),
    SessionStarted {
        session_db_id: Option<i64>,
        project: Option<String>,
    },
    ObservationQueued {
        session_db_id: Option<i64>,
    },
    SessionCompleted {
        session_db_id: Option<i64>,
    },
    /// A type this version does not know, or a known one whose fields did not fit: its `type`.
    Other {
        kind: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Observation {
    pub id: Option<i64>,
    pub project: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub prompt_number: Option<i64>,
    pub created_at_epoch: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub id: Option<i64>,
    pub project: Option<String>,
    pub request: Option<String>,
    pub completed: Option<String>,
    pub prompt_number: Option<i64>,
    pub created_at_epoch: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Prompt {
    pub id: Option<i64>,
    pub project: Option<String>,
    pub prompt_number: Option<i64>,
    pub prompt_text: Option<String>,
    pub created_at_epoch: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[derive(Default)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    projects: Vec<String>,
    sources: Vec<String>,
    is_processing: bool,
    queue_depth: u64,
    observation: Option<Observation>,
    summary: Option<Summary>,
    prompt: Option<Prompt>,
    session_db_id: Option<i64>,
    project: Option<String>,
}

impl Frame {
    /// One event's `data` (JSON). Never fails: what does not fit is [`Frame::Other`].
    pub fn parse(data: &str) -> Frame {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
            return Frame::Other {
                kind: "(not JSON)".into(),
            };
        };
        let kind = v
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .chars()
            .take(64)
            .collect::<String>();
        let Ok(w) = serde_json::from_value::<Wire>(v) else {
            return Frame::Other { kind };
        };
        match (w.kind.as_str(), w.observation, w.summary, w.prompt) {
            ("connected", ..) => Frame::Connected,
            ("initial_load", ..) => Frame::InitialLoad {
                projects: w.projects,
                sources: w.sources,
            },
            ("processing_status", ..) => Frame::ProcessingStatus {
                is_processing: w.is_processing,
                queue_depth: w.queue_depth,
            },
            ("new_observation", Some(o), _, _) => Frame::NewObservation(o),
            ("new_summary", _, Some(s), _) => Frame::NewSummary(s),
            ("new_prompt", _, _, Some(p)) => Frame::NewPrompt(p),
            ("session_started", ..) => Frame::SessionStarted {
                session_db_id: w.session_db_id,
                project: w.project,
            },
            ("observation_queued", ..) => Frame::ObservationQueued {
                session_db_id: w.session_db_id,
            },
            ("session_completed", ..) => Frame::SessionCompleted {
                session_db_id: w.session_db_id,
            },
            _ => Frame::Other { kind },
        }
    }
}

/// Server-Sent Events framing: bytes in, each event's `data` out. Lines end in `\n`, `\r\n` or
/// `\r`; `data:` lines join with `\n`; comments, `event:`, `id:` and `retry:` are ignored.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    oversized: bool,
    last_cr: bool,
}

impl Parser {
    /// Feed bytes; complete events come out as frames.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            if self.last_cr {
                self.last_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.last_cr = b == b'\r';
                    self.end_line(out);
                }
                _ if self.line.len() < FRAME_CAP => self.line.push(b),
                _ => self.oversized = true,
            }
        }
    }

    fn end_line(&mut self, out: &mut Vec<Frame>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            // Blank line: dispatch.
            if self.oversized {
                out.push(Frame::Other {
                    kind: "(oversized)".into(),
                });
            } else if self.has_data {
                out.push(Frame::parse(&String::from_utf8_lossy(&self.data)));
            }
            self.data.clear();
            self.has_data = false;
            self.oversized = false;
            return;
        }
        let (field, value) = match line.iter().position(|&c| c == b':') {
            Some(0) => return, // comment
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (&line[..], &[][..]),
        };
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            if self.data.len() + value.len() > FRAME_CAP {
                self.oversized = true;
            } else {
                self.data.extend_from_slice(value);
            }
            self.has_data = true;
        }
    }
}

/// Why a connection ended (or never started).
#[derive(Debug, Clone, PartialEq)]
pub enum Disconnect {
    /// Nothing listens on the port.
    Refused,
    /// 503: the worker is up but its DB is not ready yet.
    NotReady,
    /// Another HTTP status (404: a version without `/stream`).
    Status(u16),
    /// The worker closed the stream.
    Closed,
    /// Anything else (timeouts, resets, garbage), in words.
    Failed(String),
    /// The followed port changed (or went away).
    PortChanged,
}

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disconnect::Refused => f.write_str("connection refused"),
            Disconnect::NotReady => f.write_str("worker not ready (503), retrying"),
            Disconnect::Status(404) => f.write_str("no /stream in this version (404)"),
            Disconnect::Status(s) => write!(f, "HTTP {s}"),
            Disconnect::Closed => f.write_str("stream closed by the worker"),
            Disconnect::Failed(e) => f.write_str(e),
            Disconnect::PortChanged => f.write_str("port changed"),
        }
    }
}

/// What [`follow`] reports.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Connected to `/stream` on this port (200 head received).
    Connected {
        port: u16,
    },
    Frame(Frame),
    /// The connection ended (or could not be made); the next try comes after `retry_in`
    /// (zero after a port change).
    Dropped {
        why: Disconnect,
        retry_in: Duration,
    },
}

/// Exponential backoff: 0.5 s, 1 s, 2 s, … capped at 30 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(500);
    pub const CAP: Duration = Duration::from_secs(30);

    pub fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    /// The delay to wait now; the following one doubles.
    pub fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        d
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

enum Ended {
    /// The receiver is gone: stop following.
    Stop,
    Dropped {
        why: Disconnect,
        got_frames: bool,
    },
}

/// Follow `/stream` on the port the watch channel names, until `tx`'s receiver is dropped.
pub async fn follow(
    host: IpAddr,
    mut port: watch::Receiver<Option<u16>>,
    tx: mpsc::Sender<StreamEvent>,
) {
    let mut backoff = Backoff::new();
    loop {
        let current = *port.borrow_and_update();
        let Some(p) = current else {
            tokio::select! {
                r = port.changed() => if r.is_err() { return },
                _ = tx.closed() => return,
            }
            continue;
        };
        let ended = tokio::select! {
            e = connection(host, p, &tx) => e,
            r = port.changed() => {
                if r.is_err() { return }
                Ended::Dropped { why: Disconnect::PortChanged, got_frames: false }
            }
        };
        let (why, got_frames) = match ended {
            Ended::Stop => return,
            Ended::Dropped { why, got_frames } => (why, got_frames),
        };
        if got_frames {
            backoff.reset();
        }
        let retry_in = if why == Disconnect::PortChanged {
            Duration::ZERO
        } else {
            backoff.step()
        };
        if tx
            .send(StreamEvent::Dropped {
                why: why.clone(),
                retry_in,
            })
            .await
            .is_err()
        {
            return;
        }
        if retry_in.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(retry_in) => {}
            r = port.changed() => if r.is_err() { return },
            _ = tx.closed() => return,
        }
    }
}

/// One connection: head, then frames until it ends.
async fn connection(host: IpAddr, port: u16, tx: &mpsc::Sender<StreamEvent>) -> Ended {
    let dropped = |why| Ended::Dropped {
        why,
        got_frames: false,
    };
    let resp = match tokio::time::timeout(
        HEAD_TIMEOUT,
        http::send(host, port, "GET", "/stream", HEAD_TIMEOUT),
    )
    .await
    {
        Err(_) => {
            return dropped(Disconnect::Failed(
                ProbeError::ReadTimeout(HEAD_TIMEOUT.as_millis()).to_string(),
            ))
        }
        Ok(Err(ProbeError::Refused)) => return dropped(Disconnect::Refused),
        Ok(Err(e)) => return dropped(Disconnect::Failed(e.to_string())),
        Ok(Ok(r)) => r,
    };
    match resp.status() {
        200 => {}
        503 => return dropped(Disconnect::NotReady),
        s => return dropped(Disconnect::Status(s)),
    }
    if tx.send(StreamEvent::Connected { port }).await.is_err() {
        return Ended::Stop;
    }
    let mut resp = resp;
    let mut parser = Parser::default();
    let mut frames = Vec::new();
    let mut got_frames = false;
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c,
            _ = tx.closed() => return Ended::Stop,
        };
        match chunk {
            Ok(Some(bytes)) => {
                parser.push(&bytes, &mut frames);
                for f in frames.drain(..) {
                    got_frames = true;
                    if tx.send(StreamEvent::Frame(f)).await.is_err() {
                        return Ended::Stop;
                    }
                }
            }
            Ok(None) => {
                return Ended::Dropped {
                    why: Disconnect::Closed,
                    got_frames,
                }
            }
            Err(e) => {
                return Ended::Dropped {
                    why: Disconnect::Failed(format!("stream broke: {e}")),
                    got_frames,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out);
        }
        out
    }

    #[test]
    fn frames_split_anywhere_parse_the_same() {
        let text = b"data: {\"type\":\"connected\",\"timestamp\":1}\n\ndata: {\"type\":\"processing_status\",\"isProcessing\":true,\"queueDepth\":3,\"timestamp\":2}\r\n\r\n: comment\n\ndata: {\"type\":\"brand_new\"}\n\n";
        let whole = parse_all(&[text]);
        assert_eq!(
            whole,
            vec![
                Frame::Connected,
                Frame::ProcessingStatus {
                    is_processing: true,
                    queue_depth: 3
                },
                Frame::Other {
                    kind: "brand_new".into()
                }
            ]
        );
        for cut in 0..text.len() {
            assert_eq!(
                parse_all(&[&text[..cut], &text[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn shapes_of_the_real_worker() {
        let o = Frame::parse(
            r#"{"type":"new_observation","observation":{"id":7,"memory_session_id":"m","session_id":"s","platform_source":"claude","type":"discovery","title":"T","subtitle":"S","text":null,"narrative":null,"facts":"[]","concepts":"[]","files_read":"[]","files_modified":"[]","project":"p","prompt_number":2,"created_at_epoch":1700000000000},"timestamp":1}"#,
        );
        assert_eq!(
            o,
            Frame::NewObservation(Observation {
                id: Some(7),
                project: Some("p".into()),
                kind: Some("discovery".into()),
                title: Some("T".into()),
                subtitle: Some("S".into()),
                prompt_number: Some(2),
                created_at_epoch: Some(1700000000000),
            })
        );
        assert_eq!(
            Frame::parse(
                r#"{"type":"initial_load","projects":["a"],"sources":["claude"],"projectsBySource":{"claude":["a"]},"timestamp":1}"#
            ),
            Frame::InitialLoad {
                projects: vec!["a".into()],
                sources: vec!["claude".into()]
            }
        );
        assert_eq!(
            Frame::parse(r#"{"type":"session_completed","timestamp":1,"sessionDbId":4}"#),
            Frame::SessionCompleted {
                session_db_id: Some(4)
            }
        );
        // A known type whose fields do not fit is Other, never an error.
        assert_eq!(
            Frame::parse(r#"{"type":"initial_load","projects":"nope"}"#),
            Frame::Other {
                kind: "initial_load".into()
            }
        );
        assert_eq!(
            Frame::parse("garbage"),
            Frame::Other {
                kind: "(not JSON)".into()
            }
        );
    }

    #[test]
    fn oversized_frames_are_skipped_and_the_next_one_parses() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        p.push(b"data: ", &mut out);
        let junk = vec![b'x'; FRAME_CAP + 10];
        p.push(&junk, &mut out);
        p.push(b"\n\ndata: {\"type\":\"connected\"}\n\n", &mut out);
        assert_eq!(
            out,
            vec![
                Frame::Other {
                    kind: "(oversized)".into()
                },
                Frame::Connected
            ]
        );
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new();
        let steps: Vec<u64> = (0..9).map(|_| b.step().as_millis() as u64).collect();
        assert_eq!(
            steps,
            vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.step(), Backoff::FIRST);
    }
}
