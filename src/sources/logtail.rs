//! Tails the newest dated log: its last lines at once on open (read from the end, whatever the
//! file's size), then appended bytes; handles a new day's file, truncation and rotation.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::send;
use crate::app::msg::{LogReset, Msg};
use crate::logs;

/// Lines shown at once on open.
pub const BACKLOG_LINES: usize = 1000;
/// Most bytes read per wake-up (a writer can outrun us; we catch up over several reads).
const READ_CHUNK: u64 = 4 * 1024 * 1024;

struct Tail {
    path: PathBuf,
    ino: u64,
    offset: u64,
    partial: Vec<u8>,
    /// The last bytes before `offset`: if they change, the file was truncated and rewritten
    /// (a new content longer than the old offset would otherwise go unnoticed).
    fingerprint: Vec<u8>,
}

const FINGERPRINT: u64 = 64;

fn read_at(path: &Path, at: u64, len: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(at)).is_ok() {
            let _ = f.take(len).read_to_end(&mut buf);
        }
    }
    buf
}

fn fingerprint(path: &Path, offset: u64) -> Vec<u8> {
    let start = offset.saturating_sub(FINGERPRINT);
    read_at(path, start, offset - start)
}

/// Still the same content up to `offset`?
fn unchanged(t: &Tail) -> bool {
    t.fingerprint.is_empty() || fingerprint(&t.path, t.offset) == t.fingerprint
}

/// The last `n` lines, reading from the end in growing steps.
pub fn backlog(path: &Path, n: usize) -> (Vec<String>, u64) {
    let mut want = 128 * 1024u64;
    loop {
        match logs::read_tail(path, want) {
            Ok((buf, end)) => {
                let lines = logs::split_lines(&buf);
                if lines.len() >= n || want >= end || want >= 16 * 1024 * 1024 {
                    let skip = lines.len().saturating_sub(n);
                    return (lines.into_iter().skip(skip).collect(), end);
                }
                want *= 4;
            }
            Err(_) => return (Vec::new(), 0),
        }
    }
}

fn open(path: PathBuf, reason: LogReset, tx: &Sender<Msg>) -> Option<Tail> {
    let meta = std::fs::metadata(&path).ok()?;
    let (lines, end) = backlog(&path, BACKLOG_LINES);
    send(
        tx,
        Msg::LogReset {
            path: Some(path.clone()),
            lines,
            reason,
        },
    );
    Some(Tail {
        fingerprint: fingerprint(&path, end),
        path,
        ino: meta.ino(),
        offset: end,
        partial: Vec::new(),
    })
}

pub fn run(logs_dir: PathBuf, tx: Sender<Msg>, poke: Receiver<()>) {
    let mut tail: Option<Tail> =
        logs::newest_log(&logs_dir).and_then(|p| open(p, LogReset::Opened, &tx));
    if tail.is_none() {
        send(
            &tx,
            Msg::LogReset {
                path: None,
                lines: Vec::new(),
                reason: LogReset::Opened,
            },
        );
    }
    loop {
        // Pokes come from the file watcher; the timeout is a safety net for missed events.
        match poke.recv_timeout(Duration::from_secs(2)) {
            Ok(()) => while poke.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let newest = logs::newest_log(&logs_dir);
        match (&tail, newest) {
            (None, Some(p)) => tail = open(p, LogReset::Opened, &tx),
            (Some(t), Some(p)) if t.path != p => tail = open(p, LogReset::NewFile, &tx),
            (Some(_), None) => {
                tail = None;
                send(
                    &tx,
                    Msg::LogReset {
                        path: None,
                        lines: Vec::new(),
                        reason: LogReset::Removed,
                    },
                );
            }
            _ => {}
        }
        let Some(t) = tail.as_mut() else { continue };
        let Ok(meta) = std::fs::metadata(&t.path) else {
            continue;
        };
        if meta.ino() != t.ino {
            // Rotated: renamed away and recreated. Read the new file from its start.
            let p = t.path.clone();
            tail = open_from_start(p, LogReset::Rotated, &tx);
            continue;
        }
        if meta.len() < t.offset || !unchanged(t) {
            let p = t.path.clone();
            tail = open_from_start(p, LogReset::Truncated, &tx);
            continue;
        }
        if !read_new(t, &tx) {
            return;
        }
    }
}

fn open_from_start(path: PathBuf, reason: LogReset, tx: &Sender<Msg>) -> Option<Tail> {
    let meta = std::fs::metadata(&path).ok()?;
    send(
        tx,
        Msg::LogReset {
            path: Some(path.clone()),
            lines: Vec::new(),
            reason,
        },
    );
    let mut t = Tail {
        path,
        ino: meta.ino(),
        offset: 0,
        partial: Vec::new(),
        fingerprint: Vec::new(),
    };
    read_new(&mut t, tx);
    Some(t)
}

/// Read what was appended, in chunks, sending complete lines. False if the channel closed.
fn read_new(t: &mut Tail, tx: &Sender<Msg>) -> bool {
    let Ok(mut f) = File::open(&t.path) else {
        return true;
    };
    loop {
        if f.seek(SeekFrom::Start(t.offset)).is_err() {
            return true;
        }
        let mut buf = Vec::new();
        let n = match (&mut f).take(READ_CHUNK).read_to_end(&mut buf) {
            Ok(n) => n,
            Err(_) => return true,
        };
        if n == 0 {
            return true;
        }
        t.offset += n as u64;
        let keep = buf.len().saturating_sub(FINGERPRINT as usize);
        if buf.len() as u64 >= FINGERPRINT {
            t.fingerprint = buf[keep..].to_vec();
        } else {
            t.fingerprint.extend_from_slice(&buf);
            let excess = t.fingerprint.len().saturating_sub(FINGERPRINT as usize);
            t.fingerprint.drain(..excess);
        }
        t.partial.extend_from_slice(&buf);
        if let Some(last) = t.partial.iter().rposition(|b| *b == b'\n' || *b == b'\r') {
            let complete: Vec<u8> = t.partial.drain(..=last).collect();
            let lines = logs::split_lines(&complete);
            if !lines.is_empty() && !send(tx, Msg::LogLines(lines)) {
                return false;
            }
        } else if t.partial.len() > logs::LINE_CAP * 4 {
            // A huge line without an end: show what we have.
            let chunk = std::mem::take(&mut t.partial);
            if !send(tx, Msg::LogLines(logs::split_lines(&chunk))) {
                return false;
            }
        }
        if (n as u64) < READ_CHUNK {
            return true;
        }
    }
}
