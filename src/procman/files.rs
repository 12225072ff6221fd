//! The pid, port, marker and identity files: strict parsers, safe readers, atomic writers.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::platform::{self, StartToken};

pub const PID_FILE: &str = ".worker.pid";
pub const PORT_FILE: &str = ".worker.port";
pub const MARKER_FILE: &str = ".pm2-migrated";
/// Our own record of the worker we spawned: PID and start token. Never a claude-mem file.
pub const IDENTITY_FILE: &str = ".claude-mem-top.worker.json";
pub const LOCK_FILE: &str = ".claude-mem-top.lock";
/// The released 7.x–12.x and 13.x JSON PID file.
pub const JSON_PID_FILE: &str = "worker.pid";

/// Largest file we read: pid/port/marker files are a few bytes.
const SMALL_FILE_CAP: u64 = 4096;

/// Why a small state file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// A regular file of ours whose content is wrong: the state is stale and `start` replaces it.
    #[error("{path} holds {what}, not {expected}")]
    Invalid {
        path: PathBuf,
        what: String,
        expected: &'static str,
    },
    /// Something we must not touch: symlink, FIFO, directory, another user's file, unreadable.
    #[error("{path} is {what}: left untouched")]
    Untrusted { path: PathBuf, what: String },
}

impl FileProblem {
    pub fn is_untrusted(&self) -> bool {
        matches!(self, FileProblem::Untrusted { .. })
    }
}

/// A small file's bytes and modification time, read without following symlinks or blocking
/// on FIFOs, and only if it is a regular file we own.
#[derive(Debug, Clone)]
pub struct SmallFile {
    pub path: PathBuf,
    pub text: String,
    pub mtime: SystemTime,
    pub world_writable: bool,
}

fn untrusted(path: &Path, what: impl Into<String>) -> FileProblem {
    FileProblem::Untrusted {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn describe_type(ft: &fs::FileType) -> &'static str {
    platform::describe_file_type(ft)
}

/// Read a small state file. `Ok(None)` if it does not exist.
pub fn read_small(path: &Path) -> Result<Option<SmallFile>, FileProblem> {
    read_capped(path, SMALL_FILE_CAP)
}

/// [`read_small`] with a larger cap, for JSON state files (`observer-health.json`).
pub fn read_capped(path: &Path, cap: u64) -> Result<Option<SmallFile>, FileProblem> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(untrusted(path, format!("unreadable ({e})"))),
    };
    if !meta.file_type().is_file() {
        return Err(untrusted(path, describe_type(&meta.file_type())));
    }
    if platform::owned_by_other(&meta) {
        return Err(untrusted(
            path,
            match platform::file_owner(&meta) {
                Some(uid) => format!("owned by another user (uid {uid})"),
                None => "owned by another user".to_string(),
            },
        ));
    }
    // O_NOFOLLOW and O_NONBLOCK: if the file was swapped for a symlink or FIFO since lstat, we
    // neither follow it nor hang on it.
    let file = platform::open_read_nofollow(path)
        .map_err(|e| untrusted(path, format!("unreadable ({e})")))?;
    let fmeta = file
        .metadata()
        .map_err(|e| untrusted(path, format!("unreadable ({e})")))?;
    if !fmeta.file_type().is_file() {
        return Err(untrusted(path, describe_type(&fmeta.file_type())));
    }
    // Sized from the file: one read for its bytes (an empty Vec reads 32 bytes, then doubles).
    let mut buf = Vec::with_capacity(usize::try_from(fmeta.len().min(cap) + 1).unwrap_or(0));
    file.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| untrusted(path, format!("unreadable ({e})")))?;
    if buf.len() as u64 > cap {
        return Err(FileProblem::Invalid {
            path: path.to_path_buf(),
            what: format!("{} bytes", fmeta.len()),
            expected: if cap == SMALL_FILE_CAP {
                "a few bytes"
            } else {
                "a small file"
            },
        });
    }
    let text = match String::from_utf8(buf) {
        Ok(t) => t,
        Err(_) => {
            return Err(FileProblem::Invalid {
                path: path.to_path_buf(),
                what: "bytes that are not UTF-8".into(),
                expected: "text",
            })
        }
    };
    Ok(Some(SmallFile {
        path: path.to_path_buf(),
        text,
        mtime: fmeta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        world_writable: platform::is_world_writable(&fmeta),
    }))
}

/// Serialize a path as text even when it is not UTF-8 (lossily): a JSON status must never fail
/// because of a data dir's name.
pub fn ser_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

pub fn ser_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// Strip exactly one trailing line end (`\n` or `\r\n`).
fn strip_eol(s: &str) -> &str {
    s.strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s)
}

fn show(s: &str) -> String {
    if s.is_empty() {
        "nothing (empty)".into()
    } else {
        let mut shown: String = s.chars().take(24).collect();
        if s.chars().count() > 24 {
            shown.push('…');
        }
        format!("{shown:?}")
    }
}

/// Parse a PID: ASCII digits only, no sign, no spaces, 1..=10 digits, 1..=i32::MAX.
/// PID 1 parses (it is a number) but can never be the worker.
pub fn parse_pid(s: &str) -> Result<i32, String> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(show(s));
    }
    match s.parse::<i64>() {
        Ok(n) if n >= 1 && n <= i32::MAX as i64 => Ok(n as i32),
        _ => Err(show(s)),
    }
}

/// Parse a port: ASCII digits, 1024..=65535.
pub fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(show(s));
    }
    match s.parse::<u32>() {
        Ok(n) if (1024..=65535).contains(&n) => Ok(n as u16),
        _ => Err(show(s)),
    }
}

/// `.worker.pid`: the PID as decimal text, optional trailing newline.
pub fn parse_pid_file(path: &Path, text: &str) -> Result<i32, FileProblem> {
    parse_pid(strip_eol(text)).map_err(|what| FileProblem::Invalid {
        path: path.to_path_buf(),
        what,
        expected: "a PID",
    })
}

/// `.worker.port`: two lines, port then PID, optional trailing newline.
pub fn parse_port_file(path: &Path, text: &str) -> Result<(u16, i32), FileProblem> {
    let invalid = |what: String| FileProblem::Invalid {
        path: path.to_path_buf(),
        what,
        expected: "two lines: port, PID",
    };
    let body = strip_eol(text);
    let mut lines = body.split('\n');
    let (Some(p), Some(q), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(invalid(show(body)));
    };
    let port = parse_port(p.strip_suffix('\r').unwrap_or(p)).map_err(invalid)?;
    let pid = parse_pid(q.strip_suffix('\r').unwrap_or(q)).map_err(invalid)?;
    Ok((port, pid))
}

/// `.pm2-migrated`: an ISO-8601 timestamp.
pub fn parse_marker(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(strip_eol(text).trim())
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

/// Now as `2025-12-13T00:18:39.673Z`.
pub fn iso_now() -> String {
    iso(chrono::Utc::now())
}

pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Our identity record for a worker we spawned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub pid: i32,
    /// The worker's start token at spawn.
    pub start_token: StartToken,
    pub port: u16,
    pub started_at: String,
    pub argv: Vec<String>,
}

pub fn read_identity(dir: &Path) -> Option<Identity> {
    let f = read_small_capped(&dir.join(IDENTITY_FILE), 64 * 1024)?;
    serde_json::from_str(&f).ok()
}

fn read_small_capped(path: &Path, cap: u64) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || platform::owned_by_other(&meta) || meta.len() > cap {
        return None;
    }
    let file = platform::open_read_nofollow(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    file.take(cap).read_to_string(&mut s).ok()?;
    Some(s)
}

/// A `worker.pid` JSON file of the released 7.x–12.x or 13.x worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPid {
    pub pid: i32,
    pub port: Option<u16>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub start_token: Option<StartToken>,
    pub version: Option<String>,
}

pub fn parse_json_pid(path: &Path, text: &str) -> Result<JsonPid, FileProblem> {
    let invalid = |what: String| FileProblem::Invalid {
        path: path.to_path_buf(),
        what,
        expected: "worker.pid JSON with a pid",
    };
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("invalid JSON ({e})")))?;
    let pid = match v.get("pid") {
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .filter(|n| *n >= 1 && *n <= i32::MAX as i64)
            .map(|n| n as i32),
        Some(serde_json::Value::String(s)) => parse_pid(s).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(format!(
            "pid {}",
            v.get("pid").map_or("missing".into(), |p| p.to_string())
        ))
    })?;
    let port = match v.get("port") {
        Some(serde_json::Value::Number(n)) => {
            n.as_u64().and_then(|p| parse_port(&p.to_string()).ok())
        }
        Some(serde_json::Value::String(s)) => parse_port(s).ok(),
        _ => None,
    };
    let started_at = v
        .get("startedAt")
        .and_then(|s| s.as_str())
        .and_then(parse_marker);
    let start_token = match v.get("startToken") {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        _ => None,
    }
    .map(StartToken::from_raw);
    let version = v.get("version").and_then(|s| s.as_str()).map(String::from);
    Ok(JsonPid {
        pid,
        port,
        started_at,
        start_token,
        version,
    })
}

/// Write a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
/// Refuses to replace anything that is not a regular file of ours.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.file_type().is_file() || platform::owned_by_other(&meta) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is {}; not replacing it",
                    path.display(),
                    if meta.file_type().is_file() {
                        "another user's file"
                    } else {
                        describe_type(&meta.file_type())
                    }
                ),
            ));
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A fresh, unpredictable name per write (never followed if it exists): two threads or
    // processes writing the same file never share a temp file. Dropped on error, so no leftover.
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    if let Some(perms) = platform::shared_file_permissions() {
        builder.permissions(perms);
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(content)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    platform::sync_dir(dir);
    Ok(())
}

/// Remove a file only if it is a regular file of ours whose current content satisfies `still`.
/// A regular file of ours too big to read or not text is judged as `still("")`: content that
/// names nothing.
pub fn remove_if(path: &Path, still: impl Fn(&str) -> bool) -> bool {
    match read_small(path) {
        Ok(Some(f)) if still(&f.text) => fs::remove_file(path).is_ok(),
        Err(FileProblem::Invalid { .. }) if still("") => fs::remove_file(path).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_strictness() {
        assert_eq!(parse_pid("12345"), Ok(12345));
        for bad in [
            "",
            " ",
            "abc",
            "-1",
            "0",
            "+5",
            " 5",
            "5 ",
            "4294967296",
            "37777abc",
            "1.5",
            "00000000000",
        ] {
            assert!(parse_pid(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse_pid("1"), Ok(1));
    }

    #[test]
    fn pid_file_accepts_one_trailing_newline() {
        let p = Path::new("/x/.worker.pid");
        assert_eq!(parse_pid_file(p, "42\n"), Ok(42));
        assert_eq!(parse_pid_file(p, "42\r\n"), Ok(42));
        assert!(parse_pid_file(p, "42\n\n").is_err());
        let msg = parse_pid_file(p, "abc").unwrap_err().to_string();
        assert!(
            msg.contains("/x/.worker.pid") && msg.contains("\"abc\""),
            "{msg}"
        );
    }

    #[test]
    fn port_file_two_lines() {
        let p = Path::new(".worker.port");
        assert_eq!(parse_port_file(p, "37777\n123\n"), Ok((37777, 123)));
        assert_eq!(parse_port_file(p, "37777\n123"), Ok((37777, 123)));
        assert!(parse_port_file(p, "37777").is_err());
        assert!(parse_port_file(p, "80\n123").is_err());
        assert!(parse_port_file(p, "37777\n123\n5\n").is_err());
    }

    #[test]
    fn json_pid_both_eras() {
        let p = Path::new("worker.pid");
        let old = parse_json_pid(
            p,
            r#"{"pid": 9822, "port": 37777, "startedAt": "2026-11-25T09:53:32.877Z", "version": "unknown"}"#,
        )
        .expect("7.x");
        assert_eq!(
            (old.pid, old.port, old.start_token),
            (9822, Some(37777), None)
        );
        let new = parse_json_pid(
            p,
            r#"{"pid": 9354, "port": 37888, "startedAt": "2026-11-24T10:53:24.194Z", "startToken": "1570186"}"#,
        )
        .expect("13.x");
        assert_eq!(new.start_token, Some(StartToken::from_raw(1570186)));
        assert!(parse_json_pid(p, r#"{"pid": -3}"#).is_err());
        assert!(parse_json_pid(p, "not json").is_err());
    }

    #[test]
    fn marker_round_trip() {
        let s = iso_now();
        assert!(s.ends_with('Z') && s.len() == 24, "{s}");
        assert_eq!(parse_marker(&s).map(iso), Some(s));
    }
    /// An `Invalid` problem's path, shown value and expectation (a panic for anything else).
    fn invalid<T: std::fmt::Debug>(r: Result<T, FileProblem>) -> (PathBuf, String, &'static str) {
        match r {
            Err(FileProblem::Invalid {
                path,
                what,
                expected,
            }) => (path, what, expected),
            other => panic!("not an invalid file: {other:?}"),
        }
    }

    #[test]
    fn pid_bounds_are_exact() {
        // Ten digits is the most a PID has; i32::MAX the largest.
        assert_eq!(parse_pid("2147483647"), Ok(i32::MAX));
        assert_eq!(parse_pid("0000000042"), Ok(42));
        assert!(parse_pid("2147483648").is_err());
        assert!(parse_pid("00000000042").is_err());
        // Non-ASCII digits are not digits here.
        assert!(parse_pid("４２").is_err());
    }

    #[test]
    fn port_bounds_are_exact() {
        assert_eq!(parse_port("1024"), Ok(1024));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("01024"), Ok(1024));
        for bad in [
            "", "1023", "65536", "99999", "001024", "80", "0", "-1", "+1024", "1024 ",
        ] {
            assert!(parse_port(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn what_a_bad_value_is_shown_as() {
        assert_eq!(parse_pid(""), Err("nothing (empty)".into()));
        assert_eq!(parse_pid("abc"), Err("\"abc\"".into()));
        let exactly_24 = "a".repeat(24);
        assert_eq!(parse_pid(&exactly_24), Err(format!("{exactly_24:?}")));
        let longer = "b".repeat(25);
        assert_eq!(parse_pid(&longer), Err(format!("\"{}…\"", "b".repeat(24))));
        assert_eq!(parse_port("x"), Err("\"x\"".into()));
    }

    #[test]
    fn one_line_end_is_stripped_and_only_one() {
        assert_eq!(strip_eol("42\r\n"), "42");
        assert_eq!(strip_eol("42\n"), "42");
        assert_eq!(strip_eol("42"), "42");
        assert_eq!(strip_eol("42\n\n"), "42\n");
        assert_eq!(strip_eol("42\r"), "42\r");
        let p = Path::new(".worker.pid");
        assert!(parse_pid_file(p, "42\r").is_err());
        assert_eq!(
            invalid(parse_pid_file(p, "x")),
            (p.to_path_buf(), "\"x\"".to_string(), "a PID")
        );
    }

    #[test]
    fn port_file_line_ends_and_problems() {
        let p = Path::new("/d/.worker.port");
        assert_eq!(parse_port_file(p, "37777\r\n123\r\n"), Ok((37777, 123)));
        assert_eq!(parse_port_file(p, "37777\r\n123"), Ok((37777, 123)));
        assert!(parse_port_file(p, "37777\n\n").is_err());
        assert!(parse_port_file(p, "\n123").is_err());
        assert!(parse_port_file(p, "37777\n0").is_err());
        assert_eq!(
            invalid(parse_port_file(p, "37777 123")),
            (
                p.to_path_buf(),
                "\"37777 123\"".to_string(),
                "two lines: port, PID"
            )
        );
        // The bad line is the one named.
        assert_eq!(invalid(parse_port_file(p, "37777\nabc")).1, "\"abc\"");
        assert_eq!(invalid(parse_port_file(p, "70000\n5")).1, "\"70000\"");
    }

    #[test]
    fn marker_forms() {
        let t = parse_marker("2026-11-25T09:53:32.877Z\n").expect("with a newline");
        assert_eq!(iso(t), "2026-11-25T09:53:32.877Z");
        let t = parse_marker(" 2026-11-25T10:53:32+01:00 ").expect("an offset, spaces");
        assert_eq!(iso(t), "2026-11-25T09:53:32.000Z");
        assert!(parse_marker("").is_none());
        assert!(parse_marker("yesterday").is_none());
    }

    #[test]
    fn json_pid_every_field() {
        let p = Path::new("/d/worker.pid");
        let j = parse_json_pid(
            p,
            r#"{"pid": "77", "port": "37800", "startedAt": "2026-11-24T10:53:24.194Z", "startToken": 5, "version": "13.25.3"}"#,
        )
        .expect("strings and numbers");
        assert_eq!(
            j,
            JsonPid {
                pid: 77,
                port: Some(37800),
                started_at: parse_marker("2026-11-24T10:53:24.194Z"),
                start_token: Some(StartToken::from_raw(5)),
                version: Some("13.25.3".into()),
            }
        );
        assert!(j.started_at.is_some());
        // The extremes of a PID, and ports out of range or of the wrong type, read as none.
        assert_eq!(parse_json_pid(p, r#"{"pid": 1}"#).map(|j| j.pid), Ok(1));
        assert_eq!(
            parse_json_pid(p, r#"{"pid": 2147483647}"#).map(|j| j.pid),
            Ok(i32::MAX)
        );
        for bad in [
            r#"{"pid": 0}"#,
            r#"{"pid": 2147483648}"#,
            r#"{"pid": 1.5}"#,
            r#"{"pid": "x"}"#,
            r#"{"pid": null}"#,
            r#"{}"#,
        ] {
            assert!(parse_json_pid(p, bad).is_err(), "{bad}");
        }
        let none = parse_json_pid(
            p,
            r#"{"pid": 5, "port": 80, "startToken": "abc", "startedAt": 3, "version": 13}"#,
        )
        .expect("pid only");
        assert_eq!(
            (none.port, none.start_token, none.started_at, none.version),
            (None, None, None, None)
        );
        assert_eq!(
            parse_json_pid(p, r#"{"pid": 5, "port": 65536}"#).map(|j| j.port),
            Ok(None)
        );
        assert_eq!(
            parse_json_pid(p, r#"{"pid": 5, "port": true}"#).map(|j| j.port),
            Ok(None)
        );
        assert_eq!(
            parse_json_pid(p, r#"{"pid": 5, "startToken": "12"}"#).map(|j| j.start_token),
            Ok(Some(StartToken::from_raw(12)))
        );
        assert_eq!(
            invalid(parse_json_pid(p, r#"{"pid": -3}"#)),
            (
                p.to_path_buf(),
                "pid -3".to_string(),
                "worker.pid JSON with a pid"
            )
        );
        assert_eq!(invalid(parse_json_pid(p, "{}")).1, "pid missing");
        let what = invalid(parse_json_pid(p, "[")).1;
        assert!(what.starts_with("invalid JSON ("), "{what}");
    }
}
