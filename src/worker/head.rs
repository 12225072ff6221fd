//! What the stand-in worker's HTTP server and the tests' fake servers need of a request: its
//! head, read bounded, and its method and target. (`serve-metrics` is on hyper: `crate::serve`.)

use std::io::Read;

/// What reading a request head gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// The request line's method and target (`GET`, `/metrics?x=1`).
    Request { method: String, target: String },
    /// No blank line within the cap.
    TooLarge,
    /// The peer closed or the read failed before the head was whole.
    Closed,
}

impl Head {
    /// The target without its query string.
    pub fn path(&self) -> &str {
        match self {
            Head::Request { target, .. } => target.split('?').next().unwrap_or(""),
            _ => "",
        }
    }
}

/// Read up to the blank line that ends the head (`\r\n\r\n`, or a bare `\n\n`), at most `cap`
/// bytes. What follows the head (a body) is not read.
pub fn read_head(conn: &mut impl Read, cap: usize) -> Head {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let ended =
        |b: &[u8]| b.windows(4).any(|w| w == b"\r\n\r\n") || b.windows(2).any(|w| w == b"\n\n");
    while !ended(&buf) {
        if buf.len() > cap {
            return Head::TooLarge;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    Head::Request {
        method: first.next().unwrap_or("").to_string(),
        target: first.next().unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_to_the_blank_line_and_bounded() {
        let mut r: &[u8] = b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let h = read_head(&mut r, 1024);
        assert_eq!(
            h,
            Head::Request {
                method: "GET".into(),
                target: "/metrics?x=1".into()
            }
        );
        assert_eq!(h.path(), "/metrics");
        let mut bare: &[u8] = b"HEAD / HTTP/1.0\n\n";
        assert!(
            matches!(read_head(&mut bare, 1024), Head::Request { method, .. } if method == "HEAD")
        );
        let big = vec![b'a'; 5000];
        assert_eq!(read_head(&mut big.as_slice(), 1024), Head::TooLarge);
        let mut cut: &[u8] = b"GET / HTTP/1.1\r\nHost";
        assert_eq!(read_head(&mut cut, 1024), Head::Closed);
    }
}
