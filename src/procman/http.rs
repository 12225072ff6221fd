//! The one HTTP client: reqwest on tokio, for status, health, the API, `/stream` and supervise.
//!
//! - One [`reqwest::Client`] per process ([`client`]), built with `.no_proxy()` (no proxy
//!   variable is ever read), no redirects, no retries, no connection pool (each request is one
//!   connect, as the worker sees it; a pooled connection would also tie a socket to one runtime),
//!   HTTP/1.1 only, no TLS.
//! - Loopback only: [`fetch`] refuses a host that is not a loopback address.
//! - Bounded in time: one deadline covers connect, head and body; the connect alone is also
//!   bounded by [`health::DEFAULT_TIMEOUT`].
//! - Bounded in size: the body is read chunk by chunk and cut at [`health::BODY_CAP`]; a 10 MB
//!   answer is never held. hyper bounds the head (~400 KB) and calls a larger one a parse error.
//!
//! Async callers use [`fetch`] (and `futures`-free concurrency via `tokio::join!`); the blocking
//! API in [`health`] runs the same future on a current-thread runtime kept per thread
//! ([`block_on`]). Never call [`block_on`] from inside an async task: use [`fetch`] there, or
//! `spawn_blocking`.

use std::cell::RefCell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::health::{Probe, ProbeError, Response, BODY_CAP, DEFAULT_TIMEOUT};

/// The shared client (built on first use).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .pool_max_idle_per_host(0)
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(DEFAULT_TIMEOUT)
            .user_agent(concat!("claude-mem-top/", env!("CARGO_PKG_VERSION")));
        // Building fails only when the TLS backend or resolver cannot start; we have neither.
        b.build().unwrap_or_else(|_| reqwest::Client::new())
    })
}

/// `http://127.0.0.1:37777/path` (IPv6 in brackets).
pub fn url(host: IpAddr, port: u16, path: &str) -> String {
    format!("http://{}{path}", SocketAddr::new(host, port))
}

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

/// Send the request; for an error, the reqwest error is classified.
pub async fn send(
    host: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
) -> Result<reqwest::Response, ProbeError> {
    if !host.is_loopback() {
        return Err(ProbeError::Io(format!("{host} is not a loopback address")));
    }
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| ProbeError::Io(format!("bad HTTP method {method:?}")))?;
    let mut req = client()
        .request(method.clone(), url(host, port, path))
        .header(reqwest::header::ACCEPT, "application/json");
    if method != reqwest::Method::GET && method != reqwest::Method::HEAD {
        req = req.body(Vec::new());
    }
    req.send().await.map_err(|e| classify(&e, timeout))
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
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = cap - body.len();
                if c.len() > room {
                    body.extend_from_slice(&c[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&c);
                if body.len() == cap {
                    // Exactly full: is there more?
                    match resp.chunk().await {
                        Ok(None) => {}
                        _ => truncated = true,
                    }
                    break;
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(ProbeError::ReadTimeout(timeout.as_millis())),
            Err(_) => return Err(ProbeError::ClosedMidResponse),
        }
    }
    Ok(Response {
        status,
        body,
        truncated,
    })
}

/// Map a reqwest error onto the probe's closed set.
pub fn classify(e: &reqwest::Error, timeout: Duration) -> ProbeError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut last = e.to_string();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return ProbeError::Refused,
                std::io::ErrorKind::TimedOut if e.is_connect() => {
                    return ProbeError::ConnectTimeout(DEFAULT_TIMEOUT.min(timeout).as_millis())
                }
                _ => {}
            }
        }
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            if h.is_parse() || h.is_parse_status() {
                return ProbeError::NotHttp;
            }
            if h.is_incomplete_message() {
                return ProbeError::Closed;
            }
        }
        last = c.to_string();
        cause = c.source();
    }
    if e.is_timeout() {
        if e.is_connect() {
            ProbeError::ConnectTimeout(DEFAULT_TIMEOUT.min(timeout).as_millis())
        } else {
            ProbeError::ReadTimeout(timeout.as_millis())
        }
    } else {
        ProbeError::Io(last)
    }
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
