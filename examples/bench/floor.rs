//! The floor for `status` and `--once` (row 11): the least a status program can do. It reads
//! `.worker.pid` and `.worker.port` (or, for a 13.x release, its `worker.pid` JSON), sends one
//! `GET /health` over a plain `TcpStream`, prints the status line and exits 0 on a 200. Measurement code only (the product's HTTP is reqwest):
//! no identity proof, no API, no census, no timeouts beyond one second.
//!
//! The bench runs it as `bench --floor DATA_DIR` (this same executable), so the spawn and
//! dynamic-loading cost is in the floor as it is in the product.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::Path;
use std::time::Duration;

/// Returns the exit code.
pub fn main(dir: &Path) -> i32 {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut pid = read(".worker.pid").trim().to_string();
    let mut port: Option<u16> = read(".worker.port")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok());
    if port.is_none() {
        // 13.x: `{"pid": …, "port": …, …}`.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&read("worker.pid")) {
            pid = v["pid"].to_string();
            port = v["port"].as_u64().and_then(|p| u16::try_from(p).ok());
        }
    }
    let Some(port) = port else {
        println!("no port file");
        return 3;
    };
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let answer = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        s.write_all(
            format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )?;
        let mut buf = Vec::new();
        s.take(64 * 1024).read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf)
            .lines()
            .next()
            .unwrap_or("")
            .to_string())
    })();
    match answer {
        Ok(line) if line.split_whitespace().nth(1) == Some("200") => {
            println!("Worker is running\n  PID: {pid}\n  Port: {port}\n  Health: 200 OK");
            0
        }
        Ok(line) => {
            println!("Worker is unhealthy: {line}");
            150
        }
        Err(e) => {
            println!("Worker is not running: {e}");
            3
        }
    }
}
