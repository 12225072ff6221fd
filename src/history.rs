//! `history`: the worker's runs from its own logs, as a table or JSON.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use crate::commands::{Fail, Res};
use crate::config::Config;
use crate::procman::history::{self, End, History, Limits, Live, Since};
use crate::procman::status::{self, fmt_uptime, StatusOpts};

/// `claude-mem-top history [--since WHEN] [--json]`.
pub fn command(cfg: &Config, since: Option<Since>, json: bool) -> Res {
    // The live worker (and its version) decides which run is running.
    let st = status::status(cfg, StatusOpts::display());
    let live = Live::of(&st);
    let now = crate::platform::local_now().naive_local();
    let limits = Limits {
        since: since.map(|s| s.resolve(now)),
        ..Limits::default()
    };
    let h = history::read(&cfg.data_dir, limits, live.as_ref()).map_err(|e| Fail {
        code: e.exit_code(),
        msg: e.to_string(),
    })?;
    let out = if json {
        serde_json::to_string_pretty(&h).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
    } else {
        text(&h, std::io::stdout().is_terminal())
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(0)
}

/// The table: a row per run (oldest first), an unclean end's last lines under it, then the
/// restart loops and the summary.
pub fn text(h: &History, tty: bool) -> String {
    let clean = |s: &str| {
        if tty {
            crate::logs::sanitize(s)
        } else {
            s.to_string()
        }
    };
    let mut s = String::new();
    if h.runs.is_empty() {
        let _ = writeln!(s, "No worker start in {} log(s)", h.logs.len());
    } else {
        let _ = writeln!(
            s,
            "{:<8} {:<9} {:<19}  {:<19}  {:>8}  {:<8}  CAUSE",
            "PID", "VERSION", "STARTED", "ENDED", "UPTIME", "END"
        );
    }
    for r in &h.runs {
        let ended = match (r.end, r.ended) {
            (End::Running, _) => "-".to_string(),
            (_, Some(t)) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            (_, None) => "?".to_string(),
        };
        let _ = writeln!(
            s,
            "{:<8} {:<9} {:<19}  {:<19}  {:>8}  {:<8}  {}",
            r.pid,
            r.version.as_deref().unwrap_or("?"),
            r.started.format("%Y-%m-%d %H:%M:%S"),
            ended,
            r.uptime_seconds.map_or("?".into(), fmt_uptime),
            r.end.label(),
            match (&r.cause, r.end) {
                (Some(c), _) => clean(&c.to_string()),
                (None, End::Unclean) =>
                    "no shutdown logged (killed, crashed or machine off)".into(),
                (None, _) => String::new(),
            }
        );
        if !r.last_lines.is_empty() {
            let _ = writeln!(s, "         last lines:");
            for l in &r.last_lines {
                let _ = writeln!(s, "         | {}", clean(l));
            }
        }
    }
    for f in &h.flapping {
        let _ = writeln!(
            s,
            "FLAPPING: {} starts between {} and {}{}",
            f.starts,
            f.from.format("%Y-%m-%d %H:%M"),
            f.to.format("%H:%M"),
            f.cause
                .as_ref()
                .map(|c| format!(": {}", clean(c)))
                .unwrap_or_else(|| ": the log names no cause".into())
        );
    }
    let sum = &h.summary;
    if sum.runs > 0 {
        let _ = write!(
            s,
            "{} run{}: {} clean, {} unclean, {} replaced, {} running; {} restarts a day",
            sum.runs,
            if sum.runs == 1 { "" } else { "s" },
            sum.clean,
            sum.unclean,
            sum.replaced,
            sum.running,
            sum.restarts_per_day
        );
        if let Some(l) = &sum.longest {
            let _ = write!(
                s,
                "; longest uptime {} (PID {})",
                fmt_uptime(l.uptime_seconds),
                l.pid
            );
        }
        let _ = writeln!(s);
        if sum.days.len() > 1 {
            let days: Vec<String> = sum
                .days
                .iter()
                .map(|d| format!("{} {} ({} unclean)", d.date, d.runs, d.unclean))
                .collect();
            let _ = writeln!(s, "Runs a day: {}", days.join(", "));
        }
    }
    if h.runs.iter().any(|r| r.end == End::Unclean) {
        let _ = writeln!(s, "(An unclean end's time is its last line in the log.)");
    }
    for n in &h.notes {
        let _ = writeln!(s, "Note: {n}");
    }
    s
}
