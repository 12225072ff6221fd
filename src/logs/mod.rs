//! The worker's dated logs: finding the newest, reading the tail from the end, grouping
//! multi-line entries, levels, and making control characters harmless.

pub mod backward;
pub mod follow;
pub mod grep;
pub mod seek;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, clap::ValueEnum)]
pub enum Level {
    Debug,
    Info,
    #[value(alias = "warning")]
    Warn,
    Error,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    /// The label padded to five columns, as claude-mem writes it: `[INFO ]`, `[WARN ]`.
    pub fn padded(self) -> String {
        format!("{:<5}", self.label())
    }

    /// Does a line of `level` pass a minimum? Lines without a level (raw lines from other
    /// programs) always do.
    pub fn passes(min: Option<Level>, level: Option<Level>) -> bool {
        match (min, level) {
            (None, _) | (_, None) => true,
            (Some(m), Some(l)) => l >= m,
        }
    }
}

/// The date in a dated log's name: `worker-2026-11-25.log` or `claude-mem-2026-11-25.log`.
pub fn log_date(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".log")?;
    let date = stem
        .strip_prefix("worker-")
        .or_else(|| stem.strip_prefix("claude-mem-"))?;
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    ok.then_some(date)
}

/// The newest dated log in `logs/` (by the date in its name; a tie goes to `claude-mem-`, then
/// to the later modification time).
pub fn newest_log(logs_dir: &Path) -> Option<PathBuf> {
    let rd = std::fs::read_dir(logs_dir).ok()?;
    // (date, claude-mem's own log, mtime): a tie on the date never flips between the two files
    // as each is written (the Events panel and `logs -f` would jump back and forth).
    let mut best: Option<((String, bool, std::time::SystemTime), PathBuf)> = None;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(date) = log_date(name) else { continue };
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        let key = (date.to_string(), name.starts_with("claude-mem-"), mtime);
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, e.path()));
        }
    }
    best.map(|(_, p)| p)
}

/// Read at most `max_bytes` from the end of a file, starting at a line boundary.
/// Returns the bytes and the offset of the end (where following continues).
pub fn read_tail(path: &Path, max_bytes: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(max_bytes);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    f.take(len - start).read_to_end(&mut buf)?;
    if start > 0 {
        // Drop the partial first line.
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                buf.drain(..=i);
            }
            None => buf.clear(),
        }
    }
    Ok((buf, start + (len - start)))
}

/// Split bytes into lines (`\n`, `\r\n` or a lone `\r`), lossily decoded. Very long lines are cut
/// at `LINE_CAP` with a marker.
pub fn split_lines(buf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < buf.len() {
        let b = buf[i];
        if b == b'\n' || b == b'\r' {
            out.push(decode_line(&buf[start..i]));
            if b == b'\r' && buf.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < buf.len() {
        out.push(decode_line(&buf[start..]));
    }
    out
}

pub const LINE_CAP: usize = 16 * 1024;

fn decode_line(b: &[u8]) -> String {
    if b.len() > LINE_CAP {
        let mut s = String::from_utf8_lossy(&b[..LINE_CAP]).into_owned();
        s.push_str(&format!(" … [{} more bytes]", b.len() - LINE_CAP));
        s
    } else {
        String::from_utf8_lossy(b).into_owned()
    }
}

/// The last `n` lines of a file (reading only its end).
pub fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    follow::backlog(path, n).0
}

/// Make a line safe for a terminal: control characters and escape sequences become visible
/// (`^[`, `^G`, `\u{9b}`), tabs become spaces.
pub fn sanitize(s: &str) -> String {
    // Fast path: plain printable ASCII (nearly every log line) needs no work.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push((b'@' + c as u8) as char);
            }
            '\u{7f}' => out.push_str("^?"),
            c if ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// One log entry: a line starting with `[` and the continuation lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub lines: Vec<String>,
    pub level: Option<Level>,
}

impl Entry {
    pub fn text_contains(&self, needle_lower: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l.to_lowercase().contains(needle_lower))
    }
}

/// The level of a formatted line `[ts] [LEVEL] [COMPONENT] msg`.
pub fn line_level(line: &str) -> Option<Level> {
    let rest = line.strip_prefix('[')?;
    let (_, rest) = rest.split_once("] [")?;
    let (lvl, _) = rest.split_once(']')?;
    Level::parse(lvl)
}

/// True if a line starts a new entry (anything starting with `[`).
pub fn starts_entry(line: &str) -> bool {
    line.starts_with('[')
}

/// Group lines into entries; lines before the first `[` form their own entry.
pub fn group(lines: impl IntoIterator<Item = String>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(e) if !starts_entry(&l) => e.lines.push(l),
            _ => {
                let level = line_level(&l);
                out.push(Entry {
                    lines: vec![l],
                    level,
                });
            }
        }
    }
    out
}

/// Does an entry pass a minimum level? Entries without a level (raw lines from other programs)
/// always show.
pub fn passes(e: &Entry, min: Option<Level>) -> bool {
    Level::passes(min, e.level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_names() {
        assert_eq!(log_date("worker-2026-11-25.log"), Some("2026-11-25"));
        assert_eq!(log_date("claude-mem-2026-11-25.log"), Some("2026-11-25"));
        assert_eq!(log_date("worker-2026-1-25.log"), None);
        assert_eq!(log_date("silent.log"), None);
    }

    #[test]
    fn line_splitting_and_sanitizing() {
        assert_eq!(split_lines(b"a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(sanitize("x\x1b[31mred\x07"), "x^[[31mred^G");
        assert_eq!(sanitize("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(split_lines(b"\xff\xfe ok"), ["\u{fffd}\u{fffd} ok"]);
    }

    #[test]
    fn multi_line_entries_and_levels() {
        let lines = [
            "[2026-11-24 10:53:24.194] [INFO ] [SYSTEM] HTTP server started",
            "[2026-11-24 10:53:24.206] [WARN ] [WORKER] preflight failed. Please either:",
            "1. Add \"claude\" to your system PATH, or",
            "2. Set CLAUDE_CODE_PATH",
            "[2026-11-24 10:54:09.405] [ERROR] [SYSTEM] boom",
        ]
        .map(String::from);
        let e = group(lines);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].lines.len(), 3);
        assert_eq!(e[1].level, Some(Level::Warn));
        assert!(passes(&e[1], Some(Level::Warn)));
        assert!(!passes(&e[0], Some(Level::Warn)));
        assert!(e[1].text_contains("code_path"));
    }
}
