//! From what was read to findings and badges: pure, the clock passed in.

use super::parse::one_line;
use super::*;

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            crate::platform::to_local(d)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms).max(0) / 1000) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{} days", s / 86400),
    }
}

/// Turn what was read into findings and badges. Pure: `now_ms` is the clock.
pub fn evaluate(p: &mut Pipeline, stall_after: Duration, now_ms: i64) {
    let mut out = Vec::new();
    if let Some(d) = &p.dependencies {
        for s in &d.statuses {
            out.push(Finding {
                signal: Signal::Degraded,
                source: Source::Dependencies,
                subject: Some(s.dependency.name().to_string()),
                reason: format!(
                    "{} {}{}",
                    s.dependency.name(),
                    s.kind,
                    if s.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", one_line(&s.message))
                    }
                ),
                fix: s
                    .remediation
                    .clone()
                    .unwrap_or_else(|| format!("see the worker log for {}", s.dependency.name())),
            });
        }
        if d.degraded && d.statuses.is_empty() {
            out.push(Finding {
                signal: Signal::Degraded,
                source: Source::Dependencies,
                subject: None,
                reason: "the worker reports degraded dependencies without naming them".into(),
                fix: "see `claude-mem-top logs --level warn`".into(),
            });
        }
    }
    if let Some(c) = p
        .chroma
        .as_ref()
        .filter(|c| c.status == ChromaState::Unhealthy)
    {
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Chroma,
            subject: Some("chroma".into()),
            reason: format!(
                "Chroma is unhealthy{}: semantic search falls back to keywords",
                c.details
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            fix: "check that uvx can run chroma-mcp (`uvx chroma-mcp --help`), then restart the \
                  worker; GET /api/chroma/status?deep=1 probes further"
                .into(),
        });
    }
    if let Some(o) = p
        .observer
        .as_ref()
        .filter(|o| o.consecutive_failures >= OBSERVER_FAIL_THRESHOLD)
    {
        let since = o
            .failing_since_ms
            .map(|t| format!(" since {}", when(t as i64)))
            .unwrap_or_default();
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Observer,
            subject: None,
            reason: format!(
                "the observer failed {} times in a row{since}: {}",
                o.consecutive_failures,
                o.last_error_message
                    .as_deref()
                    .map_or_else(|| "no error message".to_string(), one_line)
            ),
            fix: "fix the cause in the last error (often the `claude` CLI's login or quota), \
                  then restart the worker"
                .into(),
        });
    }
    if let Some(h) = p
        .hooks
        .as_ref()
        .filter(|h| h.consecutive_failures >= h.threshold)
    {
        out.push(Finding {
            signal: Signal::Degraded,
            source: Source::Hooks,
            subject: None,
            reason: format!(
                "the hooks could not reach the worker {} times in a row (threshold {}){}",
                h.consecutive_failures,
                h.threshold,
                h.last_failure_at_ms
                    .map(|t| format!(", last at {}", when(t as i64)))
                    .unwrap_or_default()
            ),
            fix: format!(
                "make the worker answer (`claude-mem-top start`); the next hook that reaches it \
                 resets {HOOK_FAILURES_FILE}"
            ),
        });
    }
    if let Some(a) = &p.activity {
        let limit = stall_after.as_millis() as i64;
        if let Some(first) = a
            .oldest_unobserved_prompt_ms
            .filter(|t| now_ms - *t >= limit)
        {
            let last_obs = a
                .newest_observation_ms
                .map(|t| format!("the last at {} ({} ago)", when(t), ago(now_ms, t)))
                .unwrap_or_else(|| "none ever".into());
            let err = p
                .observer
                .as_ref()
                .and_then(|o| o.last_error_message.as_deref())
                .map(|e| format!("; the observer's last error: {}", one_line(e)))
                .unwrap_or_default();
            out.push(Finding {
                signal: Signal::Stalled,
                source: Source::Database,
                subject: None,
                reason: format!(
                    "{} prompt(s) since {} but no observation stored for {} ({last_obs}){err}",
                    a.prompts_since_observation,
                    when(first),
                    ago(now_ms, first)
                ),
                fix: "restart the worker (`claude-mem-top restart`) and watch \
                      `claude-mem-top logs -f --level warn` for the observer's errors"
                    .into(),
            });
        }
    }
    if let Some(r) = p
        .restarts
        .filter(|r| r.starts_last_hour > FLAP_LIMIT || r.version_mismatches_last_hour > FLAP_LIMIT)
    {
        out.push(Finding {
            signal: Signal::Flapping,
            source: Source::Log,
            subject: None,
            reason: format!(
                "{} worker starts and {} `{MISMATCH_LINE}` kills in the last hour",
                r.starts_last_hour, r.version_mismatches_last_hour
            ),
            // The fix follows the cause the log shows: version-mismatch kills, or a worker
            // that exits on its own.
            fix: if r.version_mismatches_last_hour > 0 {
                "the hooks kill a worker whose version differs from the installed plugin: run \
                 the installed release's worker only (stop other managers, `claude-mem-top ps`), \
                 or reinstall the plugin"
            } else {
                "the worker keeps exiting: `claude-mem-top logs --level warn` shows why each run \
                 ended (a crash, a missing dependency, a port in use), and `claude-mem-top ps` \
                 whether another manager starts it too"
            }
            .into(),
        });
    }
    if let (Some(run), Some(inst)) = (&p.versions.running, &p.versions.installed) {
        if run.trim_start_matches('v') != inst.trim_start_matches('v') {
            out.push(Finding {
                signal: Signal::VersionMismatch,
                source: Source::Versions,
                subject: None,
                reason: format!("the worker runs {run}, but {inst} is installed"),
                fix: "restart the worker from the installed plugin (the hooks kill a worker of \
                      another version)"
                    .into(),
            });
        }
    }
    let mut badges: Vec<Signal> = out.iter().map(|f| f.signal).filter(|s| s.badge()).collect();
    badges.sort();
    badges.dedup();
    p.badges = badges;
    p.findings = out;
}
