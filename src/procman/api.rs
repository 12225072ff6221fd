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
    /// The answer of [`CHROMA_PATH`], asked with the others (the pipeline reads it).
    #[serde(skip)]
    pub chroma: Option<health::Probe>,
}

pub const TIMEOUT: Duration = Duration::from_millis(500);

/// Chroma's state (13.x); the pipeline makes sense of it.
pub const CHROMA_PATH: &str = "/api/chroma/status";

/// The endpoints [`read`] asks, at once.
pub const PATHS: [&str; 5] = [
    "/api/health",
    "/api/readiness",
    "/api/stats",
    "/api/processing-status",
    CHROMA_PATH,
];

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

/// Read the API: its four requests go at once (blocking).
pub fn read(host: IpAddr, port: u16) -> ApiInfo {
    from_probes(health::get_many(host, port, &PATHS, TIMEOUT))
}

/// Read the API from async code: its four requests go at once.
pub async fn read_async(host: IpAddr, port: u16) -> ApiInfo {
    from_probes(super::http::get_all(host, port, &PATHS, TIMEOUT).await)
}

/// The figures out of the answers to [`PATHS`], in that order.
pub fn from_probes(probes: Vec<health::Probe>) -> ApiInfo {
    let mut a = ApiInfo::default();
    let mut probes = probes.into_iter();
    let mut next = || {
        probes
            .next()
            .map(json_of)
            .unwrap_or_else(|| Err("not asked".into()))
    };
    match next() {
        Ok(v) => {
            a.version = s(&v, "version");
            a.uptime = n(&v, "uptime");
            a.initialized = v.get("initialized").and_then(|x| x.as_bool());
            a.pid = v
                .get("pid")
                .and_then(|p| p.as_i64())
                .and_then(|p| crate::platform::Pid::try_from(p).ok());
            a.dependencies = super::pipeline::parse_dependencies(&v);
        }
        Err(e) => a.notes.push(format!("/api/health: {e}")),
    }
    match next() {
        Ok(v) => a.readiness = s(&v, "status"),
        Err(e) => a.notes.push(format!("/api/readiness: {e}")),
    }
    match next() {
        Ok(v) => {
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
        Err(e) => a.notes.push(format!("/api/stats: {e}")),
    }
    match next() {
        Ok(v) => {
            a.processing = v.get("isProcessing").and_then(|x| x.as_bool());
            a.queue_depth = n(&v, "queueDepth");
            a.parked = n(&v, "parkedSessions");
        }
        Err(e) => a.notes.push(format!("/api/processing-status: {e}")),
    }
    a.chroma = probes.next();
    a
}
