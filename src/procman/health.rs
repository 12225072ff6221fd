//! Loopback probes: what a request's outcome is ([`Probe`]: a [`Response`] or a [`ProbeError`],
//! with its latency) and how it reads. The transport is `procman::http` (hyper): bounded in
//! time and size, no proxies, no TLS.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::http;

/// Largest response we read; the rest is ignored.
pub const BODY_CAP: usize = 64 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// True when the body was cut at [`BODY_CAP`].
    pub truncated: bool,
}

impl Response {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("connection refused")]
    Refused,
    #[error("connect timed out after {0} ms")]
    ConnectTimeout(u128),
    #[error("no answer within {0} ms")]
    ReadTimeout(u128),
    #[error("connection closed before a response")]
    Closed,
    #[error("connection closed mid-response")]
    ClosedMidResponse,
    #[error("not an HTTP response")]
    NotHttp,
    #[error("{0}")]
    Io(String),
}

/// A probe's outcome with its latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub result: Result<Response, ProbeError>,
    pub latency: Duration,
}

impl Probe {
    /// `/health` decides health: 200 only, with a response of sane size.
    pub fn healthy(&self) -> bool {
        matches!(&self.result, Ok(r) if r.status == 200 && !r.truncated)
    }

    pub fn detail(&self) -> String {
        match &self.result {
            Ok(r) if r.truncated => format!(
                "HTTP {} with a response larger than {} KB",
                r.status,
                BODY_CAP / 1024
            ),
            Ok(r) if r.status == 200 => "200 OK".into(),
            Ok(r) => format!("HTTP {}", r.status),
            Err(e) => e.to_string(),
        }
    }
}

/// Health probes go to loopback only.
pub fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

/// GET `path` on `host:port` within `timeout` overall (blocking; async code uses
/// `http::fetch`).
pub fn get(host: IpAddr, port: u16, path: &str, timeout: Duration) -> Probe {
    request(host, port, "GET", path, timeout)
}

pub fn request(host: IpAddr, port: u16, method: &str, path: &str, timeout: Duration) -> Probe {
    let t0 = Instant::now();
    http::block_on(http::fetch(host, port, method, path, timeout)).unwrap_or_else(|e| Probe {
        result: Err(ProbeError::Io(e.to_string())),
        latency: t0.elapsed(),
    })
}
