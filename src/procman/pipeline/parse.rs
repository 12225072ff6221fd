//! The pure parsers: `/api/health` dependencies, `/api/chroma/status`, the two state files, the
//! hooks' threshold and the log's restart lines.

use super::*;

pub(super) fn cap(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// One line: a multi-line message (`Please either:\n1. …`) joined with spaces.
pub(super) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)?
        .as_str()
        .map(|s| cap(s.trim(), TEXT_CAP))
        .filter(|s| !s.is_empty())
}

/// A time in ms: a number, or an ISO-8601 string (older files).
fn time_ms(v: &serde_json::Value, k: &str) -> Option<u64> {
    match v.get(k)? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis().max(0) as u64),
        _ => None,
    }
}

fn count(v: &serde_json::Value, k: &str) -> u64 {
    v.get(k)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f.max(0.0) as u64)))
        .unwrap_or(0)
}

/// `dependencies` out of an `/api/health` body; `None` when the worker does not report them.
pub fn parse_dependencies(health: &serde_json::Value) -> Option<Dependencies> {
    let d = health.get("dependencies")?;
    let statuses: Vec<DependencyStatus> = d
        .get("statuses")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some(DependencyStatus {
                        dependency: Dependency::parse(s.get("dependency")?.as_str()?),
                        kind: text(s, "kind").unwrap_or_else(|| "unknown".into()),
                        message: text(s, "message").unwrap_or_default(),
                        remediation: text(s, "remediation"),
                        recorded_at_ms: time_ms(s, "recordedAtMs"),
                    })
                })
                .take(16)
                .collect()
        })
        .unwrap_or_default();
    let degraded = d
        .get("degraded")
        .and_then(|x| x.as_bool())
        .unwrap_or(!statuses.is_empty());
    Some(Dependencies { degraded, statuses })
}

/// An `/api/chroma/status` body.
pub fn parse_chroma(v: &serde_json::Value) -> Option<Chroma> {
    let status = match v.get("status")?.as_str()? {
        "healthy" => ChromaState::Healthy,
        "unhealthy" => ChromaState::Unhealthy,
        "disabled" => ChromaState::Disabled,
        other => ChromaState::Other(cap(other, 40)),
    };
    Some(Chroma {
        status,
        connected: v.get("connected").and_then(|x| x.as_bool()),
        details: text(v, "details"),
    })
}

fn object(file: &'static str, raw: &str) -> Result<serde_json::Value, ReadError> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| ReadError::NotJson {
        file,
        reason: e.to_string(),
    })?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ReadError::NotObject { file })
    }
}

/// `observer-health.json`'s text.
pub fn parse_observer(raw: &str) -> Result<Observer, ReadError> {
    let v = object(OBSERVER_HEALTH_FILE, raw)?;
    Ok(Observer {
        consecutive_failures: count(&v, "consecutiveFailures"),
        failing_since_ms: time_ms(&v, "failingSinceAt"),
        last_error_at_ms: time_ms(&v, "lastErrorAt"),
        last_error_message: text(&v, "lastErrorMessage"),
        last_success_at_ms: time_ms(&v, "lastSuccessAt"),
    })
}

/// `state/hook-failures.json`'s text, measured against `threshold`.
pub fn parse_hooks(raw: &str, threshold: u64) -> Result<Hooks, ReadError> {
    let v = object(HOOK_FAILURES_FILE, raw)?;
    Ok(Hooks {
        consecutive_failures: count(&v, "consecutiveFailures"),
        last_failure_at_ms: time_ms(&v, "lastFailureAt").filter(|t| *t > 0),
        threshold,
    })
}

/// The threshold as claude-mem reads it: an integer ≥ 1, else the default.
pub fn parse_threshold(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(DEFAULT_HOOK_THRESHOLD)
}

/// The local time at the start of a formatted log line (`[2026-11-24 10:53:24.194] …`).
pub fn line_time(line: &str) -> Option<chrono::NaiveDateTime> {
    line_time_of(line.as_bytes())
}

/// [`line_time`] of a line's bytes (a log is read as bytes: only the stamp need be UTF-8).
fn line_time_of(line: &[u8]) -> Option<chrono::NaiveDateTime> {
    let stamp = std::str::from_utf8(line.strip_prefix(b"[")?.get(..23)?).ok()?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.3f").ok()
}

/// Count worker starts and version-mismatch kills at or after `since` (local time, as the log's
/// stamps are) in a log's text. Continuation lines (no stamp) count for nothing. The text is
/// searched for the two messages rather than split into lines: an hour of a busy log is megabytes.
/// It is bytes, as read: nothing of it is decoded but the stamps of the lines that match.
pub fn count_restarts(text: &[u8], since: chrono::NaiveDateTime) -> Restarts {
    use memchr::memmem;
    let mut r = Restarts::default();
    let mismatch_finder = memmem::Finder::new(MISMATCH_LINE);
    for (needle, mismatch) in [(MISMATCH_LINE, true), (START_LINE, false)] {
        for at in memmem::find_iter(text, needle) {
            let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
            if line_time_of(&text[start..]).is_none_or(|t| t < since) {
                continue;
            }
            if mismatch {
                r.version_mismatches_last_hour += 1;
            } else if mismatch_finder.find(&text[start..at]).is_none() {
                r.starts_last_hour += 1;
            }
        }
    }
    r
}

/// The stamp of the first formatted line among the first `max` lines of `text`.
pub fn first_time(text: &[u8], max: usize) -> Option<chrono::NaiveDateTime> {
    text.split(|&b| b == b'\n').take(max).find_map(line_time_of)
}
