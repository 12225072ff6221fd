//! Doctor checks of what `/health` does not say (src/procman/pipeline/): the worker's
//! dependencies, Chroma, the observer, the hooks, a stalled pipeline, restart loops and the
//! running version against the installed one. A degraded pipeline warns (doctor still exits 0):
//! the worker runs, in part.

use super::{ok, warn, Finding};
use crate::procman::pipeline::{Pipeline, Source, OBSERVER_FAIL_THRESHOLD};
use crate::procman::status::Status;

fn found(p: &Pipeline, source: Source) -> Vec<&crate::procman::pipeline::Finding> {
    p.findings.iter().filter(|f| f.source == source).collect()
}

/// A warning from the findings of `source`, else `fine`.
fn check(
    st: &Status,
    id: &'static str,
    title: &'static str,
    source: Source,
    fine: impl Fn(&Pipeline) -> String,
) -> Finding {
    let Some(p) = &st.pipeline else {
        return ok(id, title, "not checked");
    };
    let fs = found(p, source);
    if fs.is_empty() {
        return ok(id, title, fine(p));
    }
    let reason: Vec<&str> = fs.iter().map(|f| f.reason.as_str()).collect();
    let mut fix: Vec<&str> = fs.iter().map(|f| f.fix.as_str()).collect();
    fix.dedup();
    warn(
        id,
        title,
        format!("{}: {}", fs[0].signal.label(), reason.join("; ")),
        &fix.join("; "),
    )
}

fn note_for(p: &Pipeline, file: &str) -> Option<String> {
    p.notes.iter().find(|n| n.contains(file)).cloned()
}

pub(super) fn check_all(st: &Status) -> Vec<Finding> {
    let answers = st.api.is_some();
    let absent = move |what: &str| {
        if answers {
            format!("not reported by this worker (13.x reports {what})")
        } else {
            "no worker answers HTTP: not checked".to_string()
        }
    };
    vec![
        check(
            st,
            "dependencies",
            "dependencies",
            Source::Dependencies,
            |p| match &p.dependencies {
                Some(_) => "the worker reports none degraded".into(),
                None => absent("them on /api/health"),
            },
        ),
        check(st, "chroma", "chroma", Source::Chroma, |p| {
            match &p.chroma {
                Some(c) => format!("/api/chroma/status: {}", c.status.label()),
                None => note_for(p, "/api/chroma/status")
                    .unwrap_or_else(|| "not reported by this worker".into()),
            }
        }),
        observer(st),
        check(st, "hooks", "hooks", Source::Hooks, |p| match &p.hooks {
            Some(h) => format!(
                "{} consecutive hook failure(s), threshold {}",
                h.consecutive_failures, h.threshold
            ),
            None => note_for(p, "hook-failures.json")
                .unwrap_or_else(|| "no state/hook-failures.json: no hook failures recorded".into()),
        }),
        check(
            st,
            "stall",
            "pipeline stall",
            Source::Database,
            |p| match &p.activity {
                Some(a) if a.prompts_since_observation > 0 => format!(
                    "{} prompt(s) since the last observation, within --stall-after {}s",
                    a.prompts_since_observation, p.stall_after_seconds
                ),
                Some(_) => "every prompt is followed by an observation".into(),
                None => note_for(p, "claude-mem.db").unwrap_or_else(|| {
                    "no claude-mem.db with user_prompts and observations to compare".into()
                }),
            },
        ),
        check(st, "flapping", "restart loop", Source::Log, |p| {
            match &p.restarts {
                Some(r) => format!(
                    "{} worker start(s) and {} version-mismatch kill(s) in the last hour",
                    r.starts_last_hour, r.version_mismatches_last_hour
                ),
                None => "no dated log to count restarts in".into(),
            }
        }),
        check(
            st,
            "plugin_version",
            "plugin version",
            Source::Versions,
            |p| match (&p.versions.running, &p.versions.installed) {
                (Some(r), Some(_)) => format!("the worker runs the installed release {r}"),
                (None, Some(i)) => format!("{i} installed; no running worker reports a version"),
                (Some(r), None) => format!("the worker runs {r}; no installed plugin found"),
                (None, None) => "no installed plugin found, no version reported".into(),
            },
        ),
    ]
}

fn observer(st: &Status) -> Finding {
    check(st, "observer", "observer", Source::Observer, |p| {
        match &p.observer {
            Some(o) => format!(
                "{} consecutive failure(s) (DEGRADED from {OBSERVER_FAIL_THRESHOLD})",
                o.consecutive_failures
            ),
            None => note_for(p, "observer-health.json")
                .unwrap_or_else(|| "no observer-health.json: nothing recorded".into()),
        }
    })
}
