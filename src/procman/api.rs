//! The worker's optional HTTP API (13.x): version, uptime, readiness, stats, processing queue.
//! A 404 means "not available in this version", never a failure; only `/health` decides health.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::health;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiInfo {
    pub version: Option<String>,
    pub uptime: Option<u64>,
    pub initialized: Option<bool>,
    /// `/api/readiness`: "ready", "initializing", …
    pub readiness: Option<String>,
    pub stats: bool,
    /// `/api/health` answered (200 or 503 with JSON): the worker has the API.
    #[serde(skip)]
    pub api_health: bool,
    pub active_sessions: Option<u64>,
    pub sse_clients: Option<u64>,
    pub db_observations: Option<u64>,
    pub db_sessions: Option<u64>,
    pub db_summaries: Option<u64>,
    pub db_size: Option<u64>,
    pub processing: Option<bool>,
    pub queue_depth: Option<u64>,
    pub parked: Option<u64>,
    /// Endpoints that were not available, and why.
    pub notes: Vec<String>,
    /// `/api/health` `dependencies` (13.x); in the status JSON under `pipeline`.
    #[serde(skip)]
    pub dependencies: Option<super::pipeline::Dependencies>,
    /// The PID `/api/health` reports.
    #[serde(skip)]
    pub pid: Option<crate::platform::Pid>,
    /// The answer of `CHROMA_PATH`, asked with the others (the pipeline reads it).
    #[serde(skip)]
    pub chroma: Option<health::Probe>,
}

pub const TIMEOUT: Duration = Duration::from_millis(500);

/// Chroma's state (13.x); the pipeline makes sense of it.
pub const CHROMA_PATH: &str = "/api/chroma/status";
/// Readiness, for releases whose `/api/health` does not say `initialized`.
pub const READINESS_PATH: &str = "/api/readiness";

/// Which releases the requests are for, told from the data dir's files before anything is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 13.x: `/api/health` says `initialized`, which is all `/api/readiness` says (`ready` when
    /// initialized, else `initializing`), so that request is not sent: the worker answers its
    /// requests one at a time on one JavaScript thread, and each costs it as much as `/health`.
    V13,
    /// Anything else, 7.1.0 among them, whose worker answers only `/health` (404 elsewhere):
    /// `/api/health` is asked alone first, and the other endpoints only when it answered.
    Older,
}

/// The endpoints [`read`] asks of each family at once, in its first round.
pub fn first_round(f: Family) -> &'static [&'static str] {
    match f {
        Family::V13 => &[
            "/api/health",
            "/api/stats",
            "/api/processing-status",
            CHROMA_PATH,
        ],
        Family::Older => &["/api/health"],
    }
}

/// What is left to ask after the first round's answers: nothing when `/api/health` was not
/// there (a worker without the API answers 404 to every other endpoint too); readiness only
/// when `/api/health` did not say `initialized`.
pub fn second_round(f: Family, first: &ApiInfo) -> Vec<&'static str> {
    let mut rest = Vec::new();
    if !first.api_health {
        return rest;
    }
    if first.initialized.is_none() {
        rest.push(READINESS_PATH);
    }
    if f == Family::Older {
        rest.extend(["/api/stats", "/api/processing-status", CHROMA_PATH]);
    }
    rest
}

fn json_of(p: health::Probe) -> Result<serde_json::Value, String> {
    match p.result {
        Ok(r) if r.status == 200 || r.status == 503 => {
            r.json().ok_or_else(|| "not JSON".to_string())
        }
        Ok(r) if r.status == 404 => Err("not available in this version".into()),
        Ok(r) => Err(format!("HTTP {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

fn s(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)?.as_str().map(|x| x.chars().take(64).collect())
}

fn n(v: &serde_json::Value, k: &str) -> Option<u64> {
    v.get(k)?.as_u64()
}

/// Read the API: its requests go at once (blocking).
pub fn read(host: IpAddr, port: u16, family: Family) -> ApiInfo {
    super::http::block_on(read_async(host, port, family)).unwrap_or_else(|e| ApiInfo {
        notes: vec![format!("the API was not asked: {e}")],
        ..ApiInfo::default()
    })
}

/// Read the API from async code: the first round's requests go at once, then what
/// [`second_round`] leaves to ask (nothing for a worker without the API).
pub async fn read_async(host: IpAddr, port: u16, family: Family) -> ApiInfo {
    let mut a = ApiInfo::default();
    let first = first_round(family);
    let answers = super::http::get_all(host, port, first, TIMEOUT).await;
    let mut readiness_asked = a.take_all(first.iter().copied().zip(answers));
    let rest = second_round(family, &a);
    if !rest.is_empty() {
        let answers = super::http::get_all(host, port, &rest, TIMEOUT).await;
        readiness_asked |= a.take_all(rest.iter().copied().zip(answers));
    }
    a.settle_readiness(readiness_asked);
    a
}

impl ApiInfo {
    /// Put in each answer; whether `/api/readiness` was among them.
    fn take_all<'a>(
        &mut self,
        answers: impl IntoIterator<Item = (&'a str, health::Probe)>,
    ) -> bool {
        let mut readiness_asked = false;
        for (path, probe) in answers {
            readiness_asked |= path == READINESS_PATH;
            self.take(path, probe);
        }
        readiness_asked
    }

    /// Unless `/api/readiness` was asked: what it would have said (13.x's handler, word for
    /// word), from `/api/health`'s `initialized`.
    fn settle_readiness(&mut self, asked: bool) {
        if !asked {
            self.readiness = self
                .initialized
                .map(|i| if i { "ready" } else { "initializing" }.to_string());
        }
    }

    /// Put in what the answer to `path` says.
    fn take(&mut self, path: &str, probe: health::Probe) {
        let a = self;
        if path == CHROMA_PATH {
            a.chroma = Some(probe);
            return;
        }
        let v = match json_of(probe) {
            Ok(v) => v,
            Err(e) => {
                a.notes.push(format!("{path}: {e}"));
                return;
            }
        };
        match path {
            "/api/health" => {
                a.api_health = true;
                a.version = s(&v, "version").or(a.version.take());
                a.uptime = n(&v, "uptime");
                a.initialized = v.get("initialized").and_then(|x| x.as_bool());
                a.pid = v
                    .get("pid")
                    .and_then(|p| p.as_i64())
                    .and_then(|p| crate::platform::Pid::try_from(p).ok());
                a.dependencies = super::pipeline::parse_dependencies(&v);
            }
            READINESS_PATH => a.readiness = s(&v, "status"),
            "/api/stats" => {
                let w = &v["worker"];
                let d = &v["database"];
                a.active_sessions = n(w, "activeSessions");
                a.sse_clients = n(w, "sseClients");
                a.db_observations = n(d, "observations");
                a.db_sessions = n(d, "sessions");
                a.db_summaries = n(d, "summaries");
                a.db_size = n(d, "size");
                if a.version.is_none() {
                    a.version = s(w, "version");
                }
                a.stats = true;
            }
            "/api/processing-status" => {
                a.processing = v.get("isProcessing").and_then(|x| x.as_bool());
                a.queue_depth = n(&v, "queueDepth");
                a.parked = n(&v, "parkedSessions");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use health::{Probe, Response};
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};

    /// The figures out of these answers, as `read_async` makes them.
    fn from_probes<'a>(answers: impl IntoIterator<Item = (&'a str, health::Probe)>) -> ApiInfo {
        let mut a = ApiInfo::default();
        let readiness_asked = a.take_all(answers);
        a.settle_readiness(readiness_asked);
        a
    }

    fn answer(status: u16, body: &str) -> Probe {
        Probe {
            result: Ok(Response {
                status,
                body: body.as_bytes().to_vec(),
                truncated: false,
            }),
            latency: Duration::ZERO,
        }
    }

    fn health(initialized: Option<bool>) -> Probe {
        let init = initialized.map_or(String::new(), |i| format!(r#","initialized":{i}"#));
        answer(
            200,
            &format!(r#"{{"status":"ok","version":"13.25.3"{init}}}"#),
        )
    }

    #[test]
    fn readiness_not_asked_is_what_initialized_says() {
        for (init, want) in [
            (Some(true), Some("ready")),
            (Some(false), Some("initializing")),
            (None, None),
        ] {
            let a = from_probes([("/api/health", health(init))]);
            assert_eq!(a.readiness.as_deref(), want, "{init:?}");
        }
    }

    #[test]
    fn readiness_asked_is_the_endpoints_word() {
        let a = from_probes([
            ("/api/health", health(Some(true))),
            (READINESS_PATH, answer(503, r#"{"status":"initializing"}"#)),
        ]);
        assert_eq!(a.readiness.as_deref(), Some("initializing"));
        // A 404 is "not in this version", and no readiness is made up for it.
        let a = from_probes([
            ("/api/health", health(Some(true))),
            (READINESS_PATH, answer(404, "")),
        ]);
        assert_eq!(a.readiness, None);
        assert!(
            a.notes.iter().any(|n| n.contains(READINESS_PATH)),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn the_health_version_wins_in_any_order() {
        let stats = answer(200, r#"{"worker":{"version":"9.9.9"},"database":{}}"#);
        let a = from_probes([("/api/stats", stats.clone()), ("/api/health", health(None))]);
        assert_eq!(a.version.as_deref(), Some("13.25.3"));
        let a = from_probes([("/api/health", answer(404, "")), ("/api/stats", stats)]);
        assert_eq!(a.version.as_deref(), Some("9.9.9"));
        assert!(a.stats);
    }

    #[test]
    fn families_ask_readiness_only_where_health_does_not_say_it() {
        let said = from_probes([("/api/health", health(Some(true)))]);
        let silent = from_probes([("/api/health", health(None))]);
        let absent = from_probes([("/api/health", answer(404, ""))]);
        for f in [Family::V13, Family::Older] {
            assert!(first_round(f).contains(&"/api/health"));
            assert!(!first_round(f).contains(&READINESS_PATH));
            assert!(!second_round(f, &said).contains(&READINESS_PATH), "{f:?}");
            assert!(second_round(f, &silent).contains(&READINESS_PATH), "{f:?}");
            // No `/api/health`: no API, nothing more is asked.
            assert!(second_round(f, &absent).is_empty(), "{f:?}");
        }
        assert!(first_round(Family::V13).contains(&CHROMA_PATH));
        assert!(second_round(Family::Older, &said).contains(&CHROMA_PATH));
        assert!(!second_round(Family::V13, &said).contains(&CHROMA_PATH));
    }

    /// Every path a server saw until it has been quiet for a moment after `n` of them.
    fn seen_paths(seen: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..n)
            .filter_map(|_| seen.recv_timeout(Duration::from_secs(5)).ok())
            .collect();
        // `serve` records a path before answering it and `read` has returned: nothing more
        // can come.
        while let Ok(p) = seen.try_recv() {
            out.push(p);
        }
        out
    }

    #[test]
    fn a_worker_without_the_api_is_asked_one_api_request_only() {
        // 7.1.0's worker: /health only, 404 elsewhere.
        let (port, seen) = serve(&[("/health", r#"{"status":"ok"}"#)], 6);
        let a = read(IpAddr::V4(Ipv4Addr::LOCALHOST), port, Family::Older);
        assert_eq!(seen_paths(&seen, 1), vec!["/api/health".to_string()]);
        assert!(!a.api_health && a.version.is_none() && !a.stats);
    }

    #[test]
    fn an_older_layout_with_the_api_is_asked_the_rest_after_api_health() {
        let routes: &'static [(&str, &str)] = &[
            (
                "/api/health",
                r#"{"status":"ok","version":"12.4.7","initialized":true}"#,
            ),
            (
                "/api/stats",
                r#"{"worker":{"activeSessions":2},"database":{}}"#,
            ),
            ("/api/processing-status", r#"{"queueDepth":4}"#),
            (CHROMA_PATH, r#"{"status":"healthy"}"#),
        ];
        let (port, seen) = serve(routes, 6);
        let a = read(IpAddr::V4(Ipv4Addr::LOCALHOST), port, Family::Older);
        let seen = seen_paths(&seen, 4);
        assert_eq!(seen.first().map(String::as_str), Some("/api/health"));
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(!seen.iter().any(|p| p == READINESS_PATH), "{seen:?}");
        assert_eq!(a.readiness.as_deref(), Some("ready"));
        assert_eq!((a.active_sessions, a.queue_depth), (Some(2), Some(4)));
        assert!(a.chroma.is_some());
    }

    /// A server that answers each path once from `routes` (404 otherwise) and records the paths.
    fn serve(
        routes: &'static [(&'static str, &'static str)],
        n: usize,
    ) -> (u16, std::sync::mpsc::Receiver<String>) {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..n {
                let Ok((mut c, _)) = l.accept() else { return };
                let mut head = [0u8; 2048];
                let len = c.read(&mut head).unwrap_or(0);
                let text = String::from_utf8_lossy(&head[..len]).to_string();
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                let (code, body) = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map_or((404, ""), |(_, b)| (200, *b));
                // Recorded before the answer: once `read` has returned, every path it asked
                // is in the channel.
                let _ = tx.send(path);
                let _ = write!(
                    c,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (port, rx)
    }

    #[test]
    fn a_13x_health_without_initialized_has_readiness_asked_after() {
        let routes: &'static [(&str, &str)] = &[
            ("/api/health", r#"{"status":"ok","version":"13.0.0"}"#),
            (READINESS_PATH, r#"{"status":"ready"}"#),
        ];
        let (port, seen) = serve(routes, 5);
        let a = read(IpAddr::V4(Ipv4Addr::LOCALHOST), port, Family::V13);
        assert_eq!(a.readiness.as_deref(), Some("ready"));
        let seen = seen_paths(&seen, 5);
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(
            seen.last().map(String::as_str),
            Some(READINESS_PATH),
            "{seen:?}"
        );
    }
}
