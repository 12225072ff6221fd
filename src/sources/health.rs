//! Status and API sampling: the three layers every interval, and at once when poked (a PID file
//! changed, an action finished).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::send;
use crate::app::msg::{ApiInfo, Msg};
use crate::config::Config;
use crate::procman::health;
use crate::procman::status::{self, State, StatusOpts};

pub fn run(cfg: Config, interval: Duration, tx: Sender<Msg>, poke: Receiver<()>) {
    loop {
        let st = status::status(&cfg, StatusOpts::default());
        let api = match st.state {
            State::Running | State::Unhealthy | State::Unmanaged => Some(read_api(st.port)),
            _ => None,
        };
        if !send(&tx, Msg::Status(Box::new(st))) {
            return;
        }
        if let Some(a) = api {
            if !send(&tx, Msg::Api(Box::new(a))) {
                return;
            }
        }
        match poke.recv_timeout(interval) {
            Ok(()) => while poke.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// One endpoint: `None` when the version has no such endpoint (404) or it failed.
fn get_json(port: u16, path: &str) -> Result<serde_json::Value, String> {
    let p = health::get(health::loopback(), port, path, Duration::from_millis(500));
    match p.result {
        Ok(r) if r.status == 200 => r.json().ok_or_else(|| "not JSON".to_string()),
        Ok(r) if r.status == 404 => Err("not available in this version".into()),
        Ok(r) => Err(format!("HTTP {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

pub fn read_api(port: u16) -> ApiInfo {
    let mut a = ApiInfo::default();
    match get_json(port, "/api/health") {
        Ok(v) => {
            a.version = v.get("version").and_then(|s| s.as_str()).map(String::from);
            a.uptime = v.get("uptime").and_then(|s| s.as_u64());
            a.initialized = v.get("initialized").and_then(|s| s.as_bool());
        }
        Err(e) => a.notes.push(format!("/api/health: {e}")),
    }
    match get_json(port, "/api/stats") {
        Ok(v) => {
            let w = &v["worker"];
            let d = &v["database"];
            a.active_sessions = w.get("activeSessions").and_then(|x| x.as_u64());
            a.sse_clients = w.get("sseClients").and_then(|x| x.as_u64());
            a.db_observations = d.get("observations").and_then(|x| x.as_u64());
            a.db_sessions = d.get("sessions").and_then(|x| x.as_u64());
            a.db_summaries = d.get("summaries").and_then(|x| x.as_u64());
            a.db_size = d.get("size").and_then(|x| x.as_u64());
            if a.version.is_none() {
                a.version = w.get("version").and_then(|s| s.as_str()).map(String::from);
            }
            a.stats = true;
        }
        Err(e) => a.notes.push(format!("/api/stats: {e}")),
    }
    match get_json(port, "/api/processing-status") {
        Ok(v) => {
            a.processing = v.get("isProcessing").and_then(|x| x.as_bool());
            a.queue_depth = v.get("queueDepth").and_then(|x| x.as_u64());
            a.parked = v.get("parkedSessions").and_then(|x| x.as_u64());
        }
        Err(e) => a.notes.push(format!("/api/processing-status: {e}")),
    }
    a
}
