//! The one HTTP client: hyper's HTTP/1 client connection on tokio, for status, health, the API,
//! `/stream` and supervise.
//!
//! - Each request is one connection ([`send`]: connect, one request, its answer), as the worker
//!   sees it: no pool, no proxy (no proxy variable is read), no redirects, no retries, no TLS.
//!   hyper's connection API and not a pooled client: a `status` run is one round of requests,
//!   and a pooled client's setup and per-request layers cost more than the requests themselves
//!   (docs/performance.md, row 11).
//! - Loopback only: [`send`] refuses a host that is not a loopback address.
//! - Bounded in time: one deadline covers connect, head and body ([`fetch`]); the connect alone
//!   is also bounded by [`health::DEFAULT_TIMEOUT`](super::health::DEFAULT_TIMEOUT).
//! - Bounded in size: the body is read frame by frame and cut at
//!   [`health::BODY_CAP`](super::health::BODY_CAP); a 10 MB answer is never held. hyper bounds
//!   the head (~400 KB) and calls a larger one a parse error.
//!
//! Async callers use [`fetch`] (and `futures`-free concurrency via `tokio::join!`); the blocking
//! API in [`health`](super::health) runs the same future on a current-thread runtime kept per
//! thread ([`block_on`]). Never call [`block_on`] from inside an async task: use [`fetch`] there,
//! or `spawn_blocking`.

use std::cell::RefCell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_LENGTH, HOST, USER_AGENT};

use super::health::{Probe, ProbeError, Response, BODY_CAP, DEFAULT_TIMEOUT};

/// What we call ourselves in the `User-Agent` header.
const AGENT: &str = concat!("claude-mem-top/", env!("CARGO_PKG_VERSION"));

/// One request, bounded by `timeout` overall, with its latency. A zero timeout sends nothing
/// (not even a connect): callers use it to read only the file and process layers.
pub async fn fetch(host: IpAddr, port: u16, method: &str, path: &str, timeout: Duration) -> Probe {
    fetch_capped(host, port, method, path, timeout, BODY_CAP).await
}

/// [`fetch`] with another body cap: for an answer that is a list (the worker's search), still
/// bounded.
pub async fn fetch_capped(
    host: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
    cap: usize,
) -> Probe {
    let t0 = Instant::now();
    if timeout.is_zero() {
        return Probe {
            result: Err(ProbeError::ConnectTimeout(0)),
            latency: Duration::ZERO,
        };
    }
    let result =
        match tokio::time::timeout(timeout, exchange(host, port, method, path, timeout, cap)).await
        {
            Ok(r) => r,
            Err(_) => Err(ProbeError::ReadTimeout(timeout.as_millis())),
        };
    Probe {
        result,
        latency: t0.elapsed(),
    }
}

/// GET each path on `host:port` at once; the answers in the order asked.
pub async fn get_all(host: IpAddr, port: u16, paths: &[&str], timeout: Duration) -> Vec<Probe> {
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in paths.iter().enumerate() {
        let p = p.to_string();
        set.spawn(async move { (i, fetch(host, port, "GET", &p, timeout).await) });
    }
    let mut out: Vec<Option<Probe>> = vec![None; paths.len()];
    while let Some(r) = set.join_next().await {
        if let Ok((i, p)) = r {
            out[i] = Some(p);
        }
    }
    out.into_iter()
        .map(|p| {
            p.unwrap_or(Probe {
                result: Err(ProbeError::Io("request task failed".into())),
                latency: Duration::ZERO,
            })
        })
        .collect()
}

/// An answer whose head is read and whose body is read as it comes ([`Answer::chunk`]).
#[derive(Debug)]
pub struct Answer {
    status: u16,
    body: Incoming,
}

impl Answer {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ProbeError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(_)) => return Err(ProbeError::ClosedMidResponse),
                Some(Ok(frame)) => {
                    // Trailers carry no data: read on.
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// Connect, send the request and read the answer's head (its body is the caller's to read).
/// The connect is bounded by `timeout` (at most [`DEFAULT_TIMEOUT`]); the rest by the caller.
pub async fn send(
    host: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
) -> Result<Answer, ProbeError> {
    if !host.is_loopback() {
        return Err(ProbeError::Io(format!("{host} is not a loopback address")));
    }
    let method = hyper::Method::from_bytes(method.as_bytes())
        .map_err(|_| ProbeError::Io(format!("bad HTTP method {method:?}")))?;
    let addr = SocketAddr::new(host, port);
    let limit = DEFAULT_TIMEOUT.min(timeout);
    let stream = match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => return Err(ProbeError::ConnectTimeout(limit.as_millis())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(ProbeError::Refused)
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(ProbeError::ConnectTimeout(limit.as_millis()))
        }
        Ok(Err(e)) => return Err(ProbeError::Io(e.to_string())),
        Ok(Ok(s)) => s,
    };
    // Requests are small and answered at once: no Nagle delay on either.
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| classify(&e, ProbeError::Closed))?;
    // The connection runs beside the request; it ends with the answer's body (or its drop).
    tokio::spawn(connection);
    let mut req = hyper::Request::new(Empty::<Bytes>::new());
    *req.method_mut() = method.clone();
    *req.uri_mut() = path
        .parse()
        .map_err(|_| ProbeError::Io(format!("bad request path {path:?}")))?;
    let headers = req.headers_mut();
    if let Ok(h) = HeaderValue::from_str(&addr.to_string()) {
        headers.insert(HOST, h);
    }
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| classify(&e, ProbeError::Closed))?;
    Ok(Answer {
        status: resp.status().as_u16(),
        body: resp.into_body(),
    })
}

async fn exchange(
    host: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
    cap: usize,
) -> Result<Response, ProbeError> {
    let mut resp = send(host, port, method, path, timeout).await?;
    let status = resp.status();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(c) = resp.chunk().await? {
        let room = cap - body.len();
        if c.len() > room {
            body.extend_from_slice(&c[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&c);
        if body.len() == cap {
            // Exactly full: is there more?
            truncated = !matches!(resp.chunk().await, Ok(None));
            break;
        }
    }
    Ok(Response {
        status,
        body,
        truncated,
    })
}

/// Map a hyper error before the answer's head onto the probe's closed set; `otherwise` for a
/// connection that ended without one.
fn classify(e: &hyper::Error, otherwise: ProbeError) -> ProbeError {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ProbeError::NotHttp;
    }
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        return otherwise;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::UnexpectedEof {
                return otherwise;
            }
            return ProbeError::Io(io.to_string());
        }
        cause = c.source();
    }
    ProbeError::Io(e.to_string())
}

// The initializer is `const` already; clippy 1.97 for x86_64-pc-windows-gnu (its std's
// thread_local expansion there) still asks for it.
#[allow(clippy::missing_const_for_thread_local)]
mod runtime_slot {
    use super::RefCell;
    thread_local! {
        pub(super) static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
    }
}
use runtime_slot::RUNTIME;

/// Run `f` to completion on this thread's current-thread runtime (made on first use). For
/// blocking callers only: inside an async task tokio forbids it (use the async API, or
/// `spawn_blocking`). Fails only when the OS refuses the runtime its event handle.
pub fn block_on<F: Future>(f: F) -> std::io::Result<F::Output> {
    RUNTIME.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
            );
        }
        match slot.as_ref() {
            Some(rt) => Ok(rt.block_on(f)),
            None => Err(std::io::Error::other("no async runtime")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A one-shot server answering 200 with a body of `len` bytes.
    fn serve_body(len: usize) -> u16 {
        let l = TcpListener::bind((LOCAL, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = l.accept() {
                let mut head = [0u8; 1024];
                let _ = c.read(&mut head);
                let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                let _ = c.write_all(&vec![b'x'; len]);
            }
        });
        port
    }

    #[test]
    fn the_cap_is_exact() {
        let t = Duration::from_secs(5);
        let at = block_on(fetch(LOCAL, serve_body(BODY_CAP), "GET", "/", t)).expect("rt");
        let r = at.result.expect("response");
        assert_eq!((r.body.len(), r.truncated), (BODY_CAP, false));
        let over = block_on(fetch(LOCAL, serve_body(BODY_CAP + 1), "GET", "/", t)).expect("rt");
        let r = over.result.expect("response");
        assert_eq!((r.body.len(), r.truncated), (BODY_CAP, true));
    }

    /// The head of the one request a one-shot server receives, answered 200.
    fn head_of(method: &str) -> String {
        let l = TcpListener::bind((LOCAL, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().expect("accept");
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            String::from_utf8_lossy(&head).to_lowercase()
        });
        let p = block_on(fetch(
            LOCAL,
            port,
            method,
            "/api/x?y=1",
            Duration::from_secs(5),
        ));
        assert_eq!(p.expect("rt").result.expect("answer").body, b"ok");
        server.join().expect("server")
    }

    #[test]
    fn a_request_names_its_host_and_a_post_its_empty_body() {
        // Node 20+ answers 400 to an HTTP/1.1 request without Host.
        let get = head_of("GET");
        assert!(get.starts_with("get /api/x?y=1 http/1.1\r\n"), "{get}");
        assert!(get.contains("\r\nhost: 127.0.0.1:"), "{get}");
        assert!(get.contains("\r\naccept: application/json\r\n"), "{get}");
        assert!(!get.contains("content-length"), "{get}");
        let post = head_of("POST");
        assert!(post.starts_with("post /api/x?y=1 http/1.1\r\n"), "{post}");
        assert!(post.contains("\r\ncontent-length: 0\r\n"), "{post}");
    }

    #[test]
    fn a_zero_timeout_connects_to_nothing() {
        let l = TcpListener::bind((LOCAL, 0)).expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let p = block_on(fetch(LOCAL, port, "GET", "/health", Duration::ZERO)).expect("rt");
        assert_eq!(p.result, Err(ProbeError::ConnectTimeout(0)));
        assert_eq!(
            l.accept().map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::WouldBlock)
        );
    }

    #[test]
    fn only_loopback_is_asked() {
        let p = block_on(fetch(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            80,
            "GET",
            "/health",
            Duration::from_secs(1),
        ))
        .expect("rt");
        assert!(
            matches!(&p.result, Err(ProbeError::Io(e)) if e.contains("not a loopback")),
            "{:?}",
            p.result
        );
    }
}
