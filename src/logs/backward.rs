//! Reading a log from its end towards its start a block at a time: one block's memory whatever
//! the file's size, each byte read once. The restart count (`procman::pipeline`) and the run
//! history (`procman::history`) both scan this way.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

/// How much of a log is read at a time.
pub const BLOCK: usize = 64 * 1024;
/// A line longer than this (no newline within it) is dropped rather than carried on: the carry
/// would otherwise grow with it.
pub const MAX_LINE: usize = 1024 * 1024;

/// Hand `f` the whole lines of `path` between `floor` and its end, a block at a time, newest
/// block first (the lines inside a block stay in file order). `f` gets the bytes and the file
/// offset of their first byte, and returns `Break` to stop. A line that begins before `floor`
/// is not handed over. The length is taken once, at the start: what is appended meanwhile is
/// not read.
pub fn blocks(
    path: &Path,
    floor: u64,
    block: usize,
    f: impl FnMut(&[u8], u64) -> ControlFlow<()>,
) -> std::io::Result<()> {
    blocks_before(path, floor, u64::MAX, block, f)
}

/// [`blocks`] of the part before `until` (a line's start, or the file's length or more).
pub fn blocks_before(
    path: &Path,
    floor: u64,
    until: u64,
    block: usize,
    mut f: impl FnMut(&[u8], u64) -> ControlFlow<()>,
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let block = block.max(1) as u64;
    let mut end = len.min(until);
    // The block read, then the start of the line the later block began inside of.
    let mut chunk: Vec<u8> = Vec::with_capacity(2 * block as usize);
    let mut carry: Vec<u8> = Vec::new();
    while end > floor {
        let start = end.saturating_sub(block).max(floor);
        chunk.clear();
        file.seek(SeekFrom::Start(start))?;
        (&mut file).take(end - start).read_to_end(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        // Before the first newline: the end of a line that began in an earlier block (whole
        // only at the file's start; cut at the floor, where it is dropped).
        let head = if start == 0 {
            0
        } else {
            memchr::memchr(b'\n', &chunk).map_or(chunk.len(), |i| i + 1)
        };
        if head < chunk.len() {
            if let ControlFlow::Break(()) = f(&chunk[head..], start + head as u64) {
                return Ok(());
            }
        }
        carry.clear();
        if head <= MAX_LINE {
            carry.extend_from_slice(&chunk[..head]);
        }
        end = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &[u8], floor: u64, block: usize) -> Vec<(Vec<u8>, u64)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.log");
        std::fs::write(&p, text).expect("write");
        let mut out = Vec::new();
        blocks(&p, floor, block, |b, at| {
            out.push((b.to_vec(), at));
            ControlFlow::Continue(())
        })
        .expect("read");
        out
    }

    #[test]
    fn every_line_once_whatever_the_block() {
        let text = b"alpha\nbravo charlie\ndelta\n\necho foxtrot golf\nhotel";
        for block in 1..=text.len() + 2 {
            let got = collect(text, 0, block);
            let mut whole = Vec::new();
            for (b, at) in got.iter().rev() {
                assert_eq!(&text[*at as usize..*at as usize + b.len()], &b[..]);
                whole.extend_from_slice(b);
            }
            assert_eq!(whole, text, "block {block}");
        }
    }

    #[test]
    fn the_floor_cuts_a_line() {
        let got = collect(b"aaaa\nbbbb\ncccc\n", 7, 4);
        let all: Vec<u8> = got.iter().rev().flat_map(|(b, _)| b.clone()).collect();
        assert_eq!(all, b"cccc\n");
    }
}
