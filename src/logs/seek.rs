//! Moving about in a log on disk without loading it: the start of the line N lines back, a
//! window of lines around a byte offset, the nearest matching line before or after an offset.
//! The dashboard's log panel uses these for `[`/`]` (another day's file) and a search that
//! reaches past the lines it holds.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::backward;
use super::grep::{self, Matcher, Query};

/// Most bytes a window reads.
pub const WINDOW_BYTES: u64 = 8 * 1024 * 1024;

/// Lines of a file and the byte range they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub path: PathBuf,
    pub lines: Vec<String>,
    /// The offset of the first line, and just past the last one.
    pub start: u64,
    pub end: u64,
    /// The file's length when read.
    pub len: u64,
    /// The index in `lines` of the line holding the offset asked about.
    pub mark: Option<usize>,
}

/// The offset of the start of the line `n` lines before `until` (a line's start, or the
/// file's length); 0 when the file has fewer.
pub fn lines_back(path: &Path, until: u64, n: usize) -> std::io::Result<u64> {
    if n == 0 {
        return Ok(until);
    }
    let mut left = n;
    let mut found = 0;
    backward::blocks_before(path, 0, until, backward::BLOCK, |chunk, at| {
        // Line starts in the chunk, newest first: after each newline, then the chunk's start.
        let starts = memchr::memrchr_iter(b'\n', chunk)
            .filter(|&i| i + 1 < chunk.len())
            .map(|i| i + 1)
            .chain(std::iter::once(0));
        for s in starts {
            left -= 1;
            if left == 0 {
                found = at + s as u64;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(if left == 0 { found } else { 0 })
}

/// `before` lines before the line holding `at`, that line, and up to `after` lines after it
/// (at most [`WINDOW_BYTES`]).
pub fn window(path: &Path, at: u64, before: usize, after: usize) -> std::io::Result<Window> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let at = at.min(len);
    // The line holding `at` starts after the last newline before it.
    let line_start = lines_back(path, at.saturating_add(1).min(len), 1).unwrap_or(0);
    let start = lines_back(path, line_start, before)?;
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.take(WINDOW_BYTES.min(len - start))
        .read_to_end(&mut buf)?;
    let whole = start + buf.len() as u64 == len;
    let mut lines = Vec::new();
    let mut mark = None;
    let mut s = 0usize;
    let mut end = start;
    while s < buf.len() {
        let e = match memchr::memchr(b'\n', &buf[s..]) {
            Some(i) => s + i,
            None if whole => buf.len(),
            None => break,
        };
        let off = start + s as u64;
        if off <= at {
            mark = Some(lines.len());
        } else if lines.len() > mark.unwrap_or(0) + after {
            break;
        }
        let mut text = &buf[s..e];
        if text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
        }
        lines.push(String::from_utf8_lossy(&text[..text.len().min(super::LINE_CAP)]).into_owned());
        s = e + 1;
        end = (start + s as u64).min(len);
    }
    Ok(Window {
        path: path.to_path_buf(),
        lines,
        start,
        end,
        len,
        mark,
    })
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> std::io::Result<Window> {
    let len = std::fs::metadata(path)?.len();
    let start = lines_back(path, len, n)?;
    let mut w = window(path, start, 0, n)?;
    w.mark = None;
    Ok(w)
}

/// The offset of the newest line before `until` that matches.
pub fn find_older(path: &Path, m: &Matcher, until: u64) -> std::io::Result<Option<u64>> {
    let mut found = None;
    backward::blocks_before(path, 0, until, backward::BLOCK, |chunk, at| {
        let Some(last) = m.last_match(chunk) else {
            return ControlFlow::Continue(());
        };
        let s = memchr::memrchr(b'\n', &chunk[..last]).map_or(0, |i| i + 1);
        found = Some(at + s as u64);
        ControlFlow::Break(())
    })?;
    Ok(found)
}

/// The offset of the first entry at or after `from` (a line's start) that matches.
pub fn find_newer(path: &Path, m: &Matcher, from: u64) -> std::io::Result<Option<u64>> {
    let q = Query {
        matcher: m.clone(),
        since: None,
        min_level: None,
    };
    let mut found = None;
    let _ = grep::search_file(path, from, 1, &q, |h| {
        found = Some(h.offset);
        ControlFlow::Break(())
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("worker-2026-12-01.log");
        std::fs::write(&p, text).expect("write");
        (dir, p)
    }

    #[test]
    fn lines_back_and_windows() {
        let (_d, p) = file("a\nbb\nccc\ndddd\n");
        assert_eq!(lines_back(&p, 14, 1).expect("read"), 9);
        assert_eq!(lines_back(&p, 14, 2).expect("read"), 5);
        assert_eq!(lines_back(&p, 14, 9).expect("read"), 0);
        let w = window(&p, 6, 1, 1).expect("read");
        // Offset 6 is inside "ccc": the line before, it, the line after.
        assert_eq!(w.lines, ["bb", "ccc", "dddd"]);
        assert_eq!((w.start, w.end, w.mark), (2, 14, Some(1)));
        let w = window(&p, 0, 5, 1).expect("read");
        assert_eq!(w.lines, ["a", "bb"]);
        assert_eq!((w.start, w.end, w.mark), (0, 5, Some(0)));
        let t = tail(&p, 2).expect("read");
        assert_eq!(t.lines, ["ccc", "dddd"]);
        assert_eq!((t.start, t.end), (5, 14));
    }

    #[test]
    fn nearest_matches_both_ways() {
        let mut text = String::new();
        for i in 0..20_000 {
            let w = if i % 5000 == 7 { "Needle" } else { "hay" };
            text.push_str(&format!("[2026-12-01 10:00:00.000] [INFO ] [W] {w} {i}\n"));
        }
        let (_d, p) = file(&text);
        let m = Matcher::insensitive("needle").expect("pattern");
        let len = text.len() as u64;
        let newest = find_older(&p, &m, len).expect("read").expect("a match");
        let w = window(&p, newest, 2, 2).expect("read");
        assert!(w.lines[w.mark.expect("mark")].ends_with("Needle 15007"));
        let older = find_older(&p, &m, newest).expect("read").expect("older");
        assert!(older < newest);
        let next = find_newer(&p, &m, lines_back(&p, newest, 0).expect("read")).expect("read");
        assert_eq!(next, Some(newest));
        assert_eq!(find_older(&p, &m, 10).expect("read"), None);
    }
}
