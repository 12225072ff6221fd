//! A tiny HTTP/1.1 client for loopback probes: bounded in time and size, no proxies (it never
//! reads proxy variables), no TLS, no async runtime. One request costs one connect and one read.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Largest response we read; the rest is ignored.
pub const BODY_CAP: usize = 64 * 1024;
const HEAD_CAP: usize = 16 * 1024;
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

/// GET `path` on `host:port` within `timeout` overall.
pub fn get(host: IpAddr, port: u16, path: &str, timeout: Duration) -> Probe {
    request(host, port, "GET", path, timeout)
}

pub fn request(host: IpAddr, port: u16, method: &str, path: &str, timeout: Duration) -> Probe {
    let t0 = Instant::now();
    let result = do_request(host, port, method, path, timeout, t0);
    Probe {
        result,
        latency: t0.elapsed(),
    }
}

fn do_request(
    host: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
    t0: Instant,
) -> Result<Response, ProbeError> {
    let addr = SocketAddr::new(host, port);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ProbeError::Refused,
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            ProbeError::ConnectTimeout(timeout.as_millis())
        }
        _ => ProbeError::Io(e.to_string()),
    })?;
    let _ = stream.set_nodelay(true);
    let remaining = |t0: Instant| {
        timeout
            .saturating_sub(t0.elapsed())
            .max(Duration::from_millis(1))
    };
    let _ = stream.set_write_timeout(Some(remaining(t0)));
    let host_hdr = match host {
        IpAddr::V6(h) => format!("[{h}]:{port}"),
        IpAddr::V4(h) => format!("{h}:{port}"),
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_hdr}\r\nUser-Agent: claude-mem-top\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| ProbeError::Io(e.to_string()))?;

    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    let mut head_end: Option<usize> = None;
    let mut content_length: Option<usize> = None;
    let mut truncated = false;
    loop {
        if t0.elapsed() >= timeout {
            return Err(ProbeError::ReadTimeout(timeout.as_millis()));
        }
        let _ = stream.set_read_timeout(Some(remaining(t0)));
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ProbeError::ReadTimeout(timeout.as_millis()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if head_end.is_some() => {
                // Reset after the head: keep what we have.
                let _ = e;
                break;
            }
            Err(e) => return Err(ProbeError::Io(e.to_string())),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if head_end.is_none() {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                head_end = Some(pos + 4);
                if !buf.starts_with(b"HTTP/") {
                    return Err(ProbeError::NotHttp);
                }
                content_length = header(&buf[..pos], "content-length").and_then(|v| v.parse().ok());
            } else if buf.len() > HEAD_CAP || (buf.len() >= 5 && !buf.starts_with(b"HTTP/")) {
                return Err(ProbeError::NotHttp);
            }
        }
        if let Some(h) = head_end {
            let body_len = buf.len() - h;
            if content_length.is_some_and(|cl| body_len >= cl) {
                break;
            }
            if body_len >= BODY_CAP {
                truncated = true;
                break;
            }
        }
    }
    let Some(h) = head_end else {
        return Err(if buf.is_empty() || buf.starts_with(b"HTTP/") {
            ProbeError::Closed
        } else {
            ProbeError::NotHttp
        });
    };
    let status = parse_status(&buf[..h]).ok_or(ProbeError::NotHttp)?;
    if !truncated && content_length.is_some_and(|cl| buf.len() - h < cl) {
        return Err(ProbeError::ClosedMidResponse);
    }
    let mut body = buf[h..].to_vec();
    if let Some(cl) = content_length {
        body.truncate(cl);
    } else if header(&buf[..h], "transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    if body.len() > BODY_CAP {
        truncated = true;
        body.truncate(BODY_CAP);
    }
    Ok(Response {
        status,
        body,
        truncated,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    let proto = parts.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    let code: u16 = parts.next()?.parse().ok()?;
    (100..=999).contains(&code).then_some(code)
}

fn header(head: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    text.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = find(b, b"\r\n") {
        let size_text = String::from_utf8_lossy(&b[..pos]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = pos + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = b.get(end + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 abc"), None);
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            b"hello world"
        );
    }
}
