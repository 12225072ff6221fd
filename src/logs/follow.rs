//! Following the newest dated log: its last lines on open (read from the end, whatever the file's
//! size), then appended bytes; a new day's file, truncation (also when rewritten past the old
//! length), rotation and a removed `logs/` are noticed. Shared by the dashboard and `logs -f`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{newest_log, read_tail, split_lines, LINE_CAP};

/// Most bytes read per poll step (a writer can outrun us; we catch up over several steps).
const READ_CHUNK: u64 = 4 * 1024 * 1024;
/// Bytes before the read offset remembered to notice a rewritten file.
const FINGERPRINT: u64 = 64;

/// Why the followed text started over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReset {
    Opened,
    NewFile,
    Truncated,
    Rotated,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowEvent {
    /// Start over with these lines (the backlog of a newly opened file, or nothing).
    Reset {
        path: Option<PathBuf>,
        lines: Vec<String>,
        reason: LogReset,
    },
    /// Complete new lines.
    Lines(Vec<String>),
}

struct Tail {
    path: PathBuf,
    ino: u64,
    offset: u64,
    partial: Vec<u8>,
    /// The last bytes before `offset`: if they change, the file was rewritten.
    fingerprint: Vec<u8>,
}

pub struct Follower {
    logs_dir: PathBuf,
    backlog: usize,
    tail: Option<Tail>,
}

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

/// The last `n` lines and the file's length, reading from the end in growing steps.
pub fn backlog(path: &Path, n: usize) -> (Vec<String>, u64) {
    let mut want = 128 * 1024u64;
    loop {
        match read_tail(path, want) {
            Ok((buf, end)) => {
                let lines = split_lines(&buf);
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

impl Follower {
    /// Open the newest log in `logs_dir` with its last `backlog` lines (0: start at its end).
    pub fn open(logs_dir: PathBuf, backlog_lines: usize) -> (Follower, FollowEvent) {
        let mut f = Follower {
            logs_dir,
            backlog: backlog_lines,
            tail: None,
        };
        let ev = match newest_log(&f.logs_dir) {
            Some(p) => f.open_file(p, LogReset::Opened),
            None => FollowEvent::Reset {
                path: None,
                lines: Vec::new(),
                reason: LogReset::Opened,
            },
        };
        (f, ev)
    }

    pub fn path(&self) -> Option<&Path> {
        self.tail.as_ref().map(|t| t.path.as_path())
    }

    fn open_file(&mut self, path: PathBuf, reason: LogReset) -> FollowEvent {
        let ino = crate::platform::file_id(&path).unwrap_or(0);
        let (lines, end) = if self.backlog > 0 {
            backlog(&path, self.backlog)
        } else {
            (
                Vec::new(),
                std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            )
        };
        self.tail = Some(Tail {
            fingerprint: fingerprint(&path, end),
            path: path.clone(),
            ino,
            offset: end,
            partial: Vec::new(),
        });
        FollowEvent::Reset {
            path: Some(path),
            lines,
            reason,
        }
    }

    /// Look at the directory and the file once; hand every event to `emit`, which returns
    /// false to stop. Returns false if `emit` did.
    pub fn poll(&mut self, emit: &mut dyn FnMut(FollowEvent) -> bool) -> bool {
        let newest = newest_log(&self.logs_dir);
        let current = self.tail.as_ref().map(|t| t.path.clone());
        match (current, newest) {
            (None, Some(p)) => {
                let ev = self.open_file(p, LogReset::Opened);
                if !emit(ev) {
                    return false;
                }
            }
            (Some(c), Some(p)) if c != p => {
                let ev = self.open_file(p, LogReset::NewFile);
                if !emit(ev) {
                    return false;
                }
            }
            (Some(_), None) => {
                self.tail = None;
                return emit(FollowEvent::Reset {
                    path: None,
                    lines: Vec::new(),
                    reason: LogReset::Removed,
                });
            }
            _ => {}
        }
        let Some(t) = self.tail.as_mut() else {
            return true;
        };
        let Ok(meta) = std::fs::metadata(&t.path) else {
            return true;
        };
        let reset = if crate::platform::file_id(&t.path).unwrap_or(0) != t.ino {
            Some(LogReset::Rotated)
        } else if meta.len() < t.offset
            || (!t.fingerprint.is_empty() && fingerprint(&t.path, t.offset) != t.fingerprint)
        {
            Some(LogReset::Truncated)
        } else {
            None
        };
        if let Some(reason) = reset {
            // Read the new content from its start.
            *t = Tail {
                path: t.path.clone(),
                ino: crate::platform::file_id(&t.path).unwrap_or(0),
                offset: 0,
                partial: Vec::new(),
                fingerprint: Vec::new(),
            };
            if !emit(FollowEvent::Reset {
                path: Some(t.path.clone()),
                lines: Vec::new(),
                reason,
            }) {
                return false;
            }
        }
        read_new(t, emit)
    }
}

/// Read what was appended, in chunks, emitting complete lines.
fn read_new(t: &mut Tail, emit: &mut dyn FnMut(FollowEvent) -> bool) -> bool {
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
        t.fingerprint
            .extend_from_slice(&buf[buf.len().saturating_sub(FINGERPRINT as usize)..]);
        let excess = t.fingerprint.len().saturating_sub(FINGERPRINT as usize);
        t.fingerprint.drain(..excess);
        t.partial.extend_from_slice(&buf);
        let lines = if let Some(last) = t.partial.iter().rposition(|b| *b == b'\n' || *b == b'\r') {
            let complete: Vec<u8> = t.partial.drain(..=last).collect();
            split_lines(&complete)
        } else if t.partial.len() > LINE_CAP * 4 {
            // A huge line without an end: show what we have.
            split_lines(&std::mem::take(&mut t.partial))
        } else {
            Vec::new()
        };
        if !lines.is_empty() && !emit(FollowEvent::Lines(lines)) {
            return false;
        }
        if (n as u64) < READ_CHUNK {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(f: &mut Follower) -> Vec<FollowEvent> {
        let mut out = Vec::new();
        f.poll(&mut |e| {
            out.push(e);
            true
        });
        out
    }

    #[test]
    fn rewritten_past_the_old_length_is_a_truncation() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("worker-2026-11-25.log");
        std::fs::write(&p, "short\n").expect("write");
        let (mut f, first) = Follower::open(d.path().to_path_buf(), 10);
        assert!(matches!(first, FollowEvent::Reset { ref lines, .. } if lines == &["short"]));
        std::fs::write(&p, "a much longer replacement line\n").expect("rewrite");
        let ev = collect(&mut f);
        assert!(
            matches!(
                ev[0],
                FollowEvent::Reset {
                    reason: LogReset::Truncated,
                    ..
                }
            ),
            "{ev:?}"
        );
        assert_eq!(
            ev[1],
            FollowEvent::Lines(vec!["a much longer replacement line".into()])
        );
        let mut h = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open");
        write!(h, "partial").expect("w");
        assert!(collect(&mut f).is_empty(), "an unfinished line waits");
        writeln!(h, " now done").expect("w");
        assert_eq!(
            collect(&mut f),
            vec![FollowEvent::Lines(vec!["partial now done".into()])]
        );
    }
}
