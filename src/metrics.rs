//! Prometheus text exposition (format 0.0.4) of the worker, its database and logs: printed by
//! `--once --format prometheus` / `status --format prometheus` (for node_exporter's textfile
//! collector) and served on `/metrics` by `serve-metrics` (the server is `crate::serve`).

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::platform;
use crate::procman::db::DbState;
use crate::procman::status::{self, State, Status, StatusOpts};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The default `--listen` of `serve-metrics`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";

const STATES: [(State, &str); 7] = [
    (State::Running, "running"),
    (State::Unhealthy, "unhealthy"),
    (State::Stale, "stale"),
    (State::Stopped, "stopped"),
    (State::Unmanaged, "unmanaged"),
    (State::Taken, "taken"),
    (State::Unknown, "unknown"),
];

/// A label value, escaped as the text format wants (`\\`, `\"`, `\n`).
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Writes families: HELP and TYPE once, then samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.0, " {}", fmt_value(value));
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// The worker's PID when a worker runs (ours or an unmanaged one).
fn worker_pid(st: &Status) -> Option<i32> {
    match st.state() {
        State::Running | State::Unhealthy => st.proven().map(|p| p.pid).or(st.pid()),
        State::Unmanaged => st.pid(),
        _ => None,
    }
}

/// CPU seconds and resident bytes of the worker and its descendants.
fn resources(pid: i32) -> Option<(f64, u64)> {
    let u = platform::family_usage(pid, &platform::descendants(pid))?;
    Some((u.cpu.as_secs_f64(), u.rss_bytes))
}

/// The census: workers by class, helpers by kind and whether orphaned, and their memory.
fn census(o: &mut Out, st: &Status) {
    use crate::procman::census::{Class, HelperKind};
    o.family(
        "claude_mem_worker_processes",
        "gauge",
        "claude-mem worker processes of this data dir (and on its port), by class.",
    );
    // Every class (another data dir's or user's worker appears here when it holds the port).
    for class in Class::WORKERS {
        let n = st.processes.iter().filter(|m| m.class == class).count();
        o.sample(
            "claude_mem_worker_processes",
            &[("class", class.label())],
            n as f64,
        );
    }
    let helpers = |kind: HelperKind, orphaned: bool| {
        st.processes
            .iter()
            .filter(move |m| m.kind == Some(kind) && (m.class == Class::OrphanedHelper) == orphaned)
    };
    o.family(
        "claude_mem_helper_processes",
        "gauge",
        "claude-mem helper processes (claude stream-json, chroma-mcp, mcp-server), by kind and whether their worker is gone.",
    );
    for kind in HelperKind::ALL {
        for orphaned in [false, true] {
            o.sample(
                "claude_mem_helper_processes",
                &[
                    ("kind", kind.label()),
                    ("orphaned", if orphaned { "true" } else { "false" }),
                ],
                helpers(kind, orphaned).count() as f64,
            );
        }
    }
    o.family(
        "claude_mem_helper_resident_memory_bytes",
        "gauge",
        "Resident memory of the helper processes, by kind and whether orphaned.",
    );
    for kind in HelperKind::ALL {
        for orphaned in [false, true] {
            o.sample(
                "claude_mem_helper_resident_memory_bytes",
                &[
                    ("kind", kind.label()),
                    ("orphaned", if orphaned { "true" } else { "false" }),
                ],
                helpers(kind, orphaned).map(|m| m.rss_bytes).sum::<u64>() as f64,
            );
        }
    }
}

/// What `/health` does not say: degraded dependencies, observer and hook failures, the badges.
fn pipeline(o: &mut Out, p: &crate::procman::pipeline::Pipeline) {
    use crate::procman::pipeline::{Dependency, Signal};
    o.family(
        "claude_mem_dependency_degraded",
        "gauge",
        "1 if the worker's /api/health reports this dependency degraded (claude_cli, uvx, chroma, …).",
    );
    let mut deps: Vec<Dependency> = Dependency::KNOWN.to_vec();
    for s in p.dependencies.iter().flat_map(|d| d.statuses.iter()) {
        if !deps.contains(&s.dependency) {
            deps.push(s.dependency.clone());
        }
    }
    for d in &deps {
        o.sample(
            "claude_mem_dependency_degraded",
            &[("dependency", d.name())],
            b(p.dependency_degraded(d)),
        );
    }
    o.one(
        "claude_mem_observer_consecutive_failures",
        "gauge",
        "consecutiveFailures of observer-health.json (0 when absent).",
        p.observer.as_ref().map_or(0, |x| x.consecutive_failures) as f64,
    );
    o.one(
        "claude_mem_hook_consecutive_failures",
        "gauge",
        "consecutiveFailures of state/hook-failures.json (0 when absent).",
        p.hooks.as_ref().map_or(0, |x| x.consecutive_failures) as f64,
    );
    o.family(
        "claude_mem_pipeline_signal",
        "gauge",
        "1 while the pipeline is degraded, stalled or flapping (the dashboard's badges).",
    );
    for (sig, name) in [
        (Signal::Degraded, "degraded"),
        (Signal::Stalled, "stalled"),
        (Signal::Flapping, "flapping"),
    ] {
        o.sample(
            "claude_mem_pipeline_signal",
            &[("signal", name)],
            b(p.badges.contains(&sig)),
        );
    }
}

/// How much of the newest logs a scrape reads for the run counts (backwards, a block at a time).
pub const RUNS_LOG_BYTES: u64 = 16 * 1024 * 1024;

/// The worker's runs from its own logs (`procman::history`): how many ended which way, and how
/// the previous one ended.
fn runs(o: &mut Out, cfg: &Config, st: &Status) {
    use crate::procman::history::{self, End, Limits, Live};
    let limits = Limits {
        max_bytes: Some(RUNS_LOG_BYTES),
        ..Limits::default()
    };
    let Ok(h) = history::read(&cfg.data_dir, limits, Live::of(st).as_ref()) else {
        return;
    };
    o.family(
        "claude_mem_worker_runs_total",
        "counter",
        "Runs of the worker found in its logs (the newest 16 MiB of them), by how each ended.",
    );
    for (end, n) in h.counts() {
        o.sample(
            "claude_mem_worker_runs_total",
            &[("end", end.label())],
            n as f64,
        );
    }
    let Some(prev) = h.previous() else { return };
    o.family(
        "claude_mem_worker_previous_run_end",
        "gauge",
        "How the worker's previous run ended (from its logs): 1 for that end.",
    );
    for end in End::ALL.into_iter().filter(|e| *e != End::Running) {
        o.sample(
            "claude_mem_worker_previous_run_end",
            &[("end", end.label())],
            b(prev.end == end),
        );
    }
    if let Some(u) = prev.uptime_seconds {
        o.one(
            "claude_mem_worker_previous_run_uptime_seconds",
            "gauge",
            "How long the worker's previous run lasted.",
            u as f64,
        );
    }
    if let Some(t) = prev.ended.and_then(|t| {
        t.and_local_timezone(*crate::platform::local_now().offset())
            .single()
    }) {
        o.one(
            "claude_mem_worker_previous_run_end_timestamp_seconds",
            "gauge",
            "When the worker's previous run ended (Unix time; an unclean end: its last log line).",
            t.timestamp() as f64,
        );
    }
}

/// Everything, read now.
pub fn collect(cfg: &Config, stall_after: Duration) -> String {
    let t0 = Instant::now();
    let opts = StatusOpts {
        stall_after,
        ..StatusOpts::display()
    };
    let st = status::status(cfg, opts);
    render(cfg, &st, t0)
}

/// The exposition for a status already read (`t0`: when reading began).
pub fn render(cfg: &Config, st: &Status, t0: Instant) -> String {
    let mut o = Out(String::with_capacity(4096));
    let pid = worker_pid(st);
    let up = pid.is_some() || st.state() == State::Unmanaged;
    o.one(
        "claude_mem_worker_up",
        "gauge",
        "1 if a worker process runs (managed or unmanaged).",
        b(up),
    );
    o.one(
        "claude_mem_worker_healthy",
        "gauge",
        "1 if GET /health answers 200.",
        b(st.healthy()),
    );
    o.family(
        "claude_mem_worker_state",
        "gauge",
        "The worker's state (as `status`): 1 for the current one.",
    );
    for (s, name) in STATES {
        o.sample(
            "claude_mem_worker_state",
            &[("state", name)],
            b(st.state() == s),
        );
    }
    let version = st
        .api
        .as_ref()
        .and_then(|a| a.version.clone())
        .or_else(|| st.installed_version.clone())
        .unwrap_or_default();
    o.family(
        "claude_mem_worker_info",
        "gauge",
        "Constant 1, labelled with the worker's version, file layout and port.",
    );
    o.sample(
        "claude_mem_worker_info",
        &[
            ("version", &version),
            ("layout", st.layout.label()),
            ("port", &st.port.to_string()),
        ],
        1.0,
    );
    if let Some(u) = st.uptime_seconds().filter(|_| up) {
        o.one(
            "claude_mem_worker_uptime_seconds",
            "gauge",
            "Seconds since the worker process started.",
            u as f64,
        );
    }
    if let Some(p) = st.probe.as_ref().filter(|p| p.result.is_ok()) {
        o.one(
            "claude_mem_worker_health_latency_seconds",
            "gauge",
            "Latency of the last GET /health.",
            p.latency.as_secs_f64(),
        );
    }
    if let Some((cpu, rss)) = pid.and_then(resources) {
        o.one(
            "claude_mem_worker_cpu_seconds_total",
            "counter",
            "User and system CPU seconds of the worker and its child processes.",
            cpu,
        );
        o.one(
            "claude_mem_worker_resident_memory_bytes",
            "gauge",
            "Resident memory of the worker and its child processes.",
            rss as f64,
        );
    }

    census(&mut o, st);
    if let Some(p) = &st.pipeline {
        pipeline(&mut o, p);
    }

    let sup = crate::supervise::read_state(&cfg.data_dir);
    let sup_up = sup.as_ref().is_some_and(|s| s.supervisor_alive());
    o.one(
        "claude_mem_supervisor_up",
        "gauge",
        "1 if `claude-mem-top supervise` runs for this data dir.",
        b(sup_up),
    );
    o.one(
        "claude_mem_worker_restarts_total",
        "counter",
        "Restarts by the last `claude-mem-top supervise` (resets when the supervisor starts).",
        sup.as_ref().map_or(0.0, |s| s.restarts_total as f64),
    );
    if let Some(s) = sup.as_ref().filter(|_| sup_up) {
        o.one(
            "claude_mem_supervisor_backoff_seconds",
            "gauge",
            "The supervisor's current restart delay (0 when not waiting to restart).",
            s.backoff_seconds.unwrap_or(0.0),
        );
    }

    runs(&mut o, cfg, st);

    let db = cfg.path("claude-mem.db");
    let dbs = crate::procman::db::read(&db);
    o.one(
        "claude_mem_db_readable",
        "gauge",
        "1 if claude-mem.db could be read (read-only).",
        b(matches!(dbs, DbState::Ok(_))),
    );
    if let DbState::Ok(s) = &dbs {
        o.family(
            "claude_mem_db_rows",
            "gauge",
            "Rows per table of claude-mem.db.",
        );
        for (table, n) in &s.counts {
            o.sample("claude_mem_db_rows", &[("table", table)], *n as f64);
        }
        o.one(
            "claude_mem_db_bytes",
            "gauge",
            "Size of claude-mem.db.",
            s.size as f64,
        );
        o.one(
            "claude_mem_db_wal_bytes",
            "gauge",
            "Size of claude-mem.db-wal (0 when absent).",
            s.wal_size.unwrap_or(0) as f64,
        );
        if !s.pending.is_empty() {
            o.family(
                "claude_mem_pending_messages",
                "gauge",
                "Rows of pending_messages by status (the processing queue).",
            );
            for (status, n) in &s.pending {
                o.sample(
                    "claude_mem_pending_messages",
                    &[("status", status)],
                    *n as f64,
                );
            }
        }
        if let Some(v) = s.schema {
            o.one(
                "claude_mem_db_schema_version",
                "gauge",
                "MAX(version) of schema_versions.",
                v as f64,
            );
        }
    }
    if let Some(q) = st.api.as_ref().and_then(|a| a.queue_depth) {
        o.one(
            "claude_mem_queue_depth",
            "gauge",
            "queueDepth from the worker's /api/processing-status.",
            q as f64,
        );
    }
    o.one(
        "claude_mem_log_bytes",
        "gauge",
        "Total size of the files in logs/.",
        crate::doctor::logs_bytes(cfg) as f64,
    );
    o.one(
        "claude_mem_top_scrape_duration_seconds",
        "gauge",
        "How long claude-mem-top took to gather these metrics.",
        t0.elapsed().as_secs_f64(),
    );
    o.0
}

/// Resolve `--listen`; refuse a non-loopback address unless `allow_remote`.
pub fn listen_addr(listen: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let addr = listen
        .to_socket_addrs()
        .map_err(|e| {
            format!("invalid --listen {listen:?}: {e} (use HOST:PORT, e.g. {DEFAULT_LISTEN})")
        })?
        .next()
        .ok_or_else(|| format!("invalid --listen {listen:?}: no address"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "refusing to serve metrics on {addr}: not a loopback address (pass --allow-remote to expose them to the network)"
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn values() {
        assert_eq!(fmt_value(3.0), "3");
        assert_eq!(fmt_value(0.25), "0.25");
    }

    #[test]
    fn loopback_only_by_default() {
        assert!(listen_addr("127.0.0.1:0", false).is_ok());
        assert!(listen_addr("[::1]:0", false).is_ok());
        assert!(listen_addr("0.0.0.0:0", false).is_err());
        assert!(listen_addr("0.0.0.0:0", true).is_ok());
        assert!(listen_addr("nonsense", false).is_err());
    }
}
