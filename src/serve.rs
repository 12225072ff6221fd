//! `serve-metrics`' HTTP server: hyper's HTTP/1 server on a current-thread tokio runtime, one task
//! per connection, so a slow client holds only its own task.
//!
//! Bounded: at most [`MAX_CONNS`] connections open at once (the next waits in the kernel's
//! backlog), a request head within [`HEAD_CAP`] bytes (larger: 431) and [`HEAD_TIMEOUT`], each
//! connection closed after one answer and cut at [`CONN_DEADLINE`], at most [`MAX_SCRAPES`]
//! scrapes gathered at once (beyond: 503). A scrape is blocking work (the status read, the
//! database, the process table): it runs on tokio's blocking pool, never on the accepting thread.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::config::Config;

/// Connections open at once; the next is accepted when one ends.
pub const MAX_CONNS: usize = 32;
/// Scrapes gathered at once; a `/metrics` request beyond them is answered 503.
pub const MAX_SCRAPES: usize = 4;
/// How long a client has to send a whole request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request head may take (hyper's smallest read buffer); a larger one gets 431.
pub const HEAD_CAP: usize = 8 * 1024;
/// The longest a connection lives, from accept to the end of its answer.
pub const CONN_DEADLINE: Duration = Duration::from_secs(30);
/// The pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

const INDEX: &str = "<html><head><title>claude-mem-top</title></head><body><h1>claude-mem-top</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/metrics`: the exposition.
    Metrics,
    /// `/`: a page linking to `/metrics`.
    Index,
    /// Any other path.
    NotFound,
    /// Any method but GET and HEAD, whatever the path.
    MethodNotAllowed,
}

fn route(method: &Method, path: &str) -> Route {
    if method != Method::GET && method != Method::HEAD {
        return Route::MethodNotAllowed;
    }
    match path {
        "/metrics" => Route::Metrics,
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

/// What every connection's task shares.
struct Shared {
    cfg: Config,
    stall_after: Duration,
    scrapes: Arc<Semaphore>,
}

/// Serve `/metrics` on `listener` until the process is killed; returns only when the runtime
/// or the listener cannot be set up.
pub fn serve(
    cfg: &Config,
    listener: std::net::TcpListener,
    stall_after: Duration,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        stall_after,
        scrapes: Arc::new(Semaphore::new(MAX_SCRAPES)),
    });
    rt.block_on(accept_loop(listener, shared))
}

async fn accept_loop(listener: std::net::TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let conns = Arc::new(Semaphore::new(MAX_CONNS));
    let mut http = http1::Builder::new();
    http.keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(HEAD_CAP)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    loop {
        // The semaphore is never closed: no error to expect, but none to unwrap either.
        let Ok(slot) = conns.clone().acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // A connection reset before it was taken, or no descriptor left: the next
                // accept may do; pause so a persistent failure does not spin.
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let shared = shared.clone();
        let conn = http.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| answer(req, shared.clone())),
        );
        tokio::spawn(async move {
            // A client that hangs up, resets or sends garbage ends only its own connection, quietly.
            let _ = tokio::time::timeout(CONN_DEADLINE, conn).await;
            drop(slot);
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match route(req.method(), req.uri().path()) {
        Route::Metrics => scrape(&shared).await,
        Route::Index => reply(StatusCode::OK, "text/html; charset=utf-8", INDEX),
        Route::NotFound => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics\n",
        ),
        Route::MethodNotAllowed => {
            let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
    })
}

/// Gather the metrics on the blocking pool (HEAD too: its Content-Length is the body's).
async fn scrape(shared: &Shared) -> Response<Full<Bytes>> {
    let Ok(permit) = shared.scrapes.clone().try_acquire_owned() else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "busy\n");
    };
    let (cfg, stall_after) = (shared.cfg.clone(), shared.stall_after);
    let job = tokio::task::spawn_blocking(move || {
        let body = crate::metrics::collect(&cfg, stall_after);
        drop(permit);
        body
    });
    match job.await {
        Ok(body) => reply(StatusCode::OK, crate::metrics::CONTENT_TYPE, body),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "the scrape failed\n",
        ),
    }
}

fn reply(code: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_check_the_method_before_the_path() {
        assert_eq!(route(&Method::GET, "/metrics"), Route::Metrics);
        assert_eq!(route(&Method::HEAD, "/metrics"), Route::Metrics);
        assert_eq!(route(&Method::GET, "/"), Route::Index);
        assert_eq!(route(&Method::GET, "/nope"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/metrics/"), Route::NotFound);
        assert_eq!(route(&Method::POST, "/metrics"), Route::MethodNotAllowed);
        assert_eq!(route(&Method::DELETE, "/nope"), Route::MethodNotAllowed);
    }

    #[test]
    fn replies_carry_their_type_and_status() {
        let r = reply(StatusCode::NOT_FOUND, "text/plain", "x");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"text/plain"[..])
        );
    }
}
