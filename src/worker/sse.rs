//! The stand-in's `GET /stream`: Server-Sent Events shaped like 13.25.3's. A connecting client
//! gets `connected`; then, as the real worker does, every client gets `initial_load` and
//! `processing_status`. Other frames go out when `POST /api/stand-in/<type>` asks (the real
//! worker sends them as sessions, prompts and observations happen). Each connected client counts
//! in `/api/stats`' `worker.sseClients` until its connection closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// `None` tells a client's writer that its connection closed.
type Client = (u64, Sender<Option<String>>);

#[derive(Default)]
pub struct Hub {
    clients: Mutex<Vec<Client>>,
    next_id: AtomicU64,
    /// Frames sent so far (ids for the sample rows).
    sent: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn wire(mut frame: Value) -> String {
    if let Some(o) = frame.as_object_mut() {
        o.entry("timestamp").or_insert(json!(now_ms()));
    }
    format!("data: {frame}\n\n")
}

impl Hub {
    pub fn count(&self) -> usize {
        self.clients.lock().map_or(0, |c| c.len())
    }

    /// Send a frame to every client (a timestamp is added, as the real worker does).
    pub fn broadcast(&self, frame: Value) {
        let text = wire(frame);
        if let Ok(mut c) = self.clients.lock() {
            c.retain(|(_, tx)| tx.send(Some(text.clone())).is_ok());
        }
    }

    /// A frame of this type with the real worker's shape, or None for an unknown type.
    pub fn sample(&self, kind: &str, project: &str) -> Option<Value> {
        let n = self.sent.fetch_add(1, Ordering::Relaxed) + 1;
        let at = now_ms();
        Some(match kind {
            "new_observation" => json!({"type": kind, "observation": {
                "id": n, "memory_session_id": "mem-stand-in", "session_id": "stand-in-session",
                "platform_source": "claude", "type": "discovery",
                "title": format!("Stand-in observation {n}"), "subtitle": "from the stand-in worker",
                "text": null, "narrative": "A stand-in observation.", "facts": "[]", "concepts": "[]",
                "files_read": "[]", "files_modified": "[]", "project": project,
                "prompt_number": 1, "created_at_epoch": at}}),
            "new_summary" => json!({"type": kind, "summary": {
                "id": n, "session_id": "stand-in-session", "platform_source": "claude",
                "request": format!("Stand-in request {n}"), "investigated": "", "learned": "",
                "completed": "the stand-in's work", "next_steps": "", "notes": null,
                "project": project, "prompt_number": 1, "created_at_epoch": at}}),
            "new_prompt" => json!({"type": kind, "prompt": {
                "id": n, "content_session_id": "stand-in-session", "project": project,
                "platform_source": "claude", "prompt_number": n,
                "prompt_text": format!("Stand-in prompt {n}"), "created_at_epoch": at}}),
            "session_started" => json!({"type": kind, "sessionDbId": n, "project": project}),
            "observation_queued" => json!({"type": kind, "sessionDbId": n}),
            "session_completed" => json!({"type": kind, "sessionDbId": n}),
            "processing_status" => json!({"type": kind, "isProcessing": true, "queueDepth": 1}),
            _ => return None,
        })
    }

    /// Serve one `/stream` client until its connection closes.
    pub fn serve(&self, mut conn: TcpStream, project: &str) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n";
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        let _ = conn.set_read_timeout(None);
        let (tx, rx) = channel::<Option<String>>();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Whoever closes: the reader sees EOF and wakes the writer.
        if let Ok(mut reader) = conn.try_clone() {
            let closed = tx.clone();
            std::thread::spawn(move || {
                let mut b = [0u8; 256];
                while matches!(reader.read(&mut b), Ok(n) if n > 0) {}
                let _ = closed.send(None);
            });
        }
        let _ = tx.send(Some(wire(json!({"type": "connected"}))));
        if let Ok(mut c) = self.clients.lock() {
            c.push((id, tx));
        }
        self.broadcast(json!({"type": "initial_load", "projects": [project],
            "sources": ["claude"], "projectsBySource": {"claude": [project]}}));
        self.broadcast(
            json!({"type": "processing_status", "isProcessing": false, "queueDepth": 0}),
        );
        while let Ok(Some(text)) = rx.recv() {
            if conn
                .write_all(text.as_bytes())
                .and_then(|_| conn.flush())
                .is_err()
            {
                break;
            }
        }
        if let Ok(mut c) = self.clients.lock() {
            c.retain(|(i, _)| *i != id);
        }
        let _ = conn.shutdown(std::net::Shutdown::Both);
    }
}
