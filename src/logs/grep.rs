//! Searching the dated logs on disk: every file read forward a block at a time (one block, one
//! partial line and one entry in memory, whatever the file's size), multi-line entries kept
//! whole, each match with its file and line. `logs --grep` and the dashboard's file search use it.

use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use regex::bytes::{Regex, RegexBuilder};

use super::Level;

/// How much of a file is read at a time.
pub const BLOCK: usize = 256 * 1024;
/// A line longer than this is handed on in pieces of this size (the carry stays bounded).
pub const MAX_LINE: usize = 1024 * 1024;
/// An entry keeps at most this many lines (and [`MAX_ENTRY_BYTES`]); the rest are counted.
pub const MAX_ENTRY_LINES: usize = 1000;
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// What to look for: a regular expression (or a fixed string), case-insensitive unless the
/// pattern holds an upper-case letter ("smart case", as ripgrep's `-S`).
#[derive(Debug, Clone)]
pub struct Matcher {
    re: Regex,
}

impl Matcher {
    pub fn new(pattern: &str, fixed: bool) -> Result<Matcher, String> {
        let src = if fixed {
            regex::escape(pattern)
        } else {
            pattern.to_string()
        };
        let insensitive = !pattern.chars().any(char::is_uppercase);
        let re = RegexBuilder::new(&src)
            .case_insensitive(insensitive)
            .multi_line(true)
            .crlf(true)
            .size_limit(16 * 1024 * 1024)
            .build()
            .map_err(|e| format!("bad pattern `{pattern}`: {e}"))?;
        Ok(Matcher { re })
    }

    /// A plain string, case-insensitive: the dashboard's search.
    pub fn insensitive(text: &str) -> Option<Matcher> {
        let re = RegexBuilder::new(&regex::escape(text))
            .case_insensitive(true)
            .build()
            .ok()?;
        Some(Matcher { re })
    }

    pub fn is_match(&self, line: &[u8]) -> bool {
        self.re.is_match(line)
    }

    /// Where the last match in `text` starts.
    pub fn last_match(&self, text: &[u8]) -> Option<usize> {
        self.re.find_iter(text).last().map(|m| m.start())
    }
}

/// The whole query: pattern, and the entries it may return.
#[derive(Debug, Clone)]
pub struct Query {
    pub matcher: Matcher,
    /// Entries stamped before this are skipped (files named more than a day before too).
    pub since: Option<NaiveDateTime>,
    pub min_level: Option<Level>,
}

/// One matching entry.
#[derive(Debug)]
pub struct Hit<'a> {
    pub path: &'a Path,
    /// The number (1-based) of the entry's first line in its file.
    pub line: u64,
    /// The byte offset of the entry's first line.
    pub offset: u64,
    /// The entry's lines (without their line ends), each with whether it matched.
    pub lines: Vec<(&'a [u8], bool)>,
    /// Lines of the entry beyond the kept ones.
    pub more_lines: u64,
    pub level: Option<Level>,
    pub time: Option<NaiveDateTime>,
}

/// What a search of one file did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub bytes: u64,
    pub lines: u64,
    pub hits: u64,
}

/// The stamp `[2026-11-24 10:53:24.194]` at the start of a line.
pub fn line_time(line: &[u8]) -> Option<NaiveDateTime> {
    let rest = line.strip_prefix(b"[")?;
    let end = memchr::memchr(b']', &rest[..rest.len().min(40)])?;
    let s = std::str::from_utf8(&rest[..end]).ok()?;
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()
}

/// The entry being gathered: its lines joined in `buf`.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// (end in `buf`, matched) per kept line.
    ends: Vec<(usize, bool)>,
    more: u64,
    any: bool,
    line: u64,
    offset: u64,
}

impl Pending {
    fn start(&mut self, line: u64, offset: u64) {
        self.buf.clear();
        self.ends.clear();
        self.more = 0;
        self.any = false;
        self.line = line;
        self.offset = offset;
    }

    fn add(&mut self, text: &[u8], matched: bool) {
        self.any |= matched;
        if self.ends.len() >= MAX_ENTRY_LINES || self.buf.len() + text.len() > MAX_ENTRY_BYTES {
            self.more += 1;
            return;
        }
        self.buf.extend_from_slice(text);
        self.ends.push((self.buf.len(), matched));
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.more == 0
    }

    /// Hand the entry to `f` if it matched and passes the filters.
    fn flush<'a>(
        &'a self,
        path: &'a Path,
        q: &Query,
        tally: &mut Tally,
        f: &mut impl FnMut(&Hit) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if !self.any || self.ends.is_empty() {
            return ControlFlow::Continue(());
        }
        let first = &self.buf[..self.ends[0].0];
        let level = super::line_level(&String::from_utf8_lossy(&first[..first.len().min(64)]));
        if !Level::passes(q.min_level, level) {
            return ControlFlow::Continue(());
        }
        let time = line_time(first);
        if let (Some(since), Some(t)) = (q.since, time) {
            if t < since {
                return ControlFlow::Continue(());
            }
        }
        let mut start = 0;
        let lines = self
            .ends
            .iter()
            .map(|&(end, m)| {
                let l = &self.buf[start..end];
                start = end;
                (l, m)
            })
            .collect();
        tally.hits += 1;
        f(&Hit {
            path,
            line: self.line,
            offset: self.offset,
            lines,
            more_lines: self.more,
            level,
            time,
        })
    }
}

/// Search one file from byte `from` (a line's start) to its end as it is now, handing each
/// matching entry to `f` in file order; `f` returns `Break` to stop (a closed pipe, a cancel).
/// `first_line` numbers the line at `from`.
pub fn search_file(
    path: &Path,
    from: u64,
    first_line: u64,
    q: &Query,
    mut f: impl FnMut(&Hit) -> ControlFlow<()>,
) -> std::io::Result<(Tally, ControlFlow<()>)> {
    let mut file = File::open(path)?;
    if from > 0 {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(from))?;
    }
    let len = file.metadata()?.len();
    let mut reader = file.take(len.saturating_sub(from));
    let mut tally = Tally::default();
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + MAX_LINE);
    let mut pending = Pending::default();
    // The file offset of `buf[0]`, the next line's number.
    let mut base = from;
    let mut line_no = first_line;
    let mut eof = false;
    while !eof {
        let have = buf.len();
        buf.resize(have + BLOCK, 0);
        let n = loop {
            match reader.read(&mut buf[have..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        buf.truncate(have + n);
        tally.bytes += n as u64;
        eof = n == 0;
        // Whole lines only, unless at the end or a line outgrew the cap.
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None if buf.len() >= MAX_LINE => buf.len(),
                None => continue,
            }
        };
        let chunk = &buf[..cut];
        let mut next_match = q.matcher.re.find(chunk).map(|m| m.start());
        let mut s = 0;
        while s < chunk.len() {
            let e = memchr::memchr(b'\n', &chunk[s..]).map_or(chunk.len(), |i| s + i);
            let mut text = &chunk[s..e];
            if text.last() == Some(&b'\r') {
                text = &text[..text.len() - 1];
            }
            let matched = next_match.is_some_and(|m| m <= e);
            if matched {
                next_match = if e < chunk.len() {
                    q.matcher.re.find_at(chunk, e + 1).map(|m| m.start())
                } else {
                    None
                };
            }
            if text.first() == Some(&b'[') || pending.is_empty() {
                if let ControlFlow::Break(()) = pending.flush(path, q, &mut tally, &mut f) {
                    return Ok((tally, ControlFlow::Break(())));
                }
                pending.start(line_no, base + s as u64);
            }
            pending.add(text, matched);
            tally.lines += 1;
            line_no += 1;
            s = e + 1;
        }
        base += cut as u64;
        buf.drain(..cut);
    }
    let flow = pending.flush(path, q, &mut tally, &mut f);
    Ok((tally, flow))
}

/// The dated logs of `logs_dir` a query reaches, oldest first: every day's file of both layouts
/// (`worker-*.log`, `claude-mem-*.log`), those named more than a day before `since` left out
/// (the name's date is UTC, the stamps local).
pub fn logs_in_range(
    logs_dir: &Path,
    since: Option<NaiveDateTime>,
) -> std::io::Result<Vec<PathBuf>> {
    let from = since.map(|s| {
        (s.date() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string()
    });
    let mut found: Vec<(String, String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(logs_dir)?.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(date) = super::log_date(&name).map(str::to_string) else {
            continue;
        };
        if from.as_ref().is_some_and(|f| date < *f) || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        found.push((date, name, e.path()));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &[u8], pattern: &str, min: Option<Level>) -> Vec<(u64, Vec<String>)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("worker-2026-12-01.log");
        std::fs::write(&p, text).expect("write");
        let q = Query {
            matcher: Matcher::new(pattern, false).expect("pattern"),
            since: None,
            min_level: min,
        };
        let mut out = Vec::new();
        let _ = search_file(&p, 0, 1, &q, |h| {
            out.push((
                h.line,
                h.lines
                    .iter()
                    .map(|(l, m)| {
                        format!(
                            "{}{}",
                            if *m { ":" } else { "-" },
                            String::from_utf8_lossy(l)
                        )
                    })
                    .collect(),
            ));
            ControlFlow::Continue(())
        })
        .expect("search");
        out
    }

    #[test]
    fn entries_stay_whole_and_lines_are_numbered() {
        let text = b"[2026-12-01 10:00:00.000] [INFO ] [W] start\n\
                     [2026-12-01 10:00:01.000] [ERROR] [W] boom\n\
                     at frame one\r\n\
                     at needle two\n\
                     [2026-12-01 10:00:02.000] [INFO ] [W] NEEDLE again\n";
        let got = hits(text, "needle", None);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 2);
        assert_eq!(
            got[0].1,
            [
                "-[2026-12-01 10:00:01.000] [ERROR] [W] boom",
                "-at frame one",
                ":at needle two"
            ]
        );
        assert_eq!(got[1].0, 5);
        // Smart case: an upper-case letter makes it exact.
        assert_eq!(hits(text, "NEEDLE", None).len(), 1);
        assert_eq!(hits(text, "needle", Some(Level::Error)).len(), 1);
        assert_eq!(hits(text, "^at", None).len(), 1);
        assert_eq!(hits(text, "two$", None).len(), 1);
    }

    #[test]
    fn lines_before_the_first_stamp_and_odd_bytes() {
        let got = hits(
            b"raw \xff line\nmore\n[x] y\nno newline at end \xfe",
            "line",
            None,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1.len(), 2);
        assert_eq!(got[1].0, 3);
    }

    #[test]
    fn a_huge_line_is_cut_not_held() {
        let mut text = vec![b'x'; 3 * MAX_LINE + 10];
        text.extend_from_slice(b"needle\n[a] b needle\n");
        let got = hits(&text, "needle", None);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn matches_across_block_edges() {
        let mut text = Vec::new();
        let mut want = 0;
        for i in 0..40_000 {
            if i % 997 == 0 {
                text.extend_from_slice(
                    format!("[2026-12-01 10:00:00.000] [INFO ] [W] hit {i}\n").as_bytes(),
                );
                want += 1;
            } else {
                text.extend_from_slice(
                    format!("[2026-12-01 10:00:00.000] [INFO ] [W] line {i}\n").as_bytes(),
                );
            }
        }
        let got = hits(&text, "hit", None);
        assert_eq!(got.len(), want);
        assert!(got
            .iter()
            .all(|(n, l)| l[0].ends_with(&format!("hit {}", n - 1))));
    }
}
