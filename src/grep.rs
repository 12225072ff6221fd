//! `logs --grep`: every day's log of the data dir searched on disk, oldest first, matches
//! printed with their file and line (grep's `FILE:LINE:` / `FILE-LINE-`), or as JSON lines.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;

use crate::commands::{Fail, Res};
use crate::config::Config;
use crate::logs::grep::{self, Hit, Matcher, Query};
use crate::logs::Level;
use crate::procman::history::Since;

/// `claude-mem-top logs --grep PATTERN [-F] [--since WHEN] [--level L] [--json]`.
pub fn command(
    cfg: &Config,
    pattern: &str,
    fixed: bool,
    since: Option<Since>,
    min_level: Option<Level>,
    json: bool,
) -> Res {
    let matcher = Matcher::new(pattern, fixed).map_err(|msg| Fail { code: 2, msg })?;
    let now = crate::platform::local_now().naive_local();
    let q = Query {
        matcher,
        since: since.map(|s| s.resolve(now)),
        min_level,
    };
    let logs_dir = cfg.logs_dir();
    let files = match grep::logs_in_range(&logs_dir, q.since) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Fail {
                code: 1,
                msg: format!("cannot read {}: {e}", logs_dir.display()),
            })
        }
    };
    if files.is_empty() {
        return Err(Fail {
            code: 1,
            msg: format!(
                "no worker log in {} (no worker-*.log or claude-mem-*.log{})",
                logs_dir.display(),
                if q.since.is_some() {
                    " in that range"
                } else {
                    ""
                }
            ),
        });
    }
    let tty = std::io::stdout().is_terminal();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut hits = 0u64;
    let mut closed = false;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let res = grep::search_file(path, 0, 1, &q, |h| {
            hits += 1;
            let ok = if json {
                write_json(&mut out, &name, h)
            } else {
                write_text(&mut out, &name, h, tty)
            };
            if ok.is_err() {
                closed = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match res {
            Ok((_, ControlFlow::Break(()))) => break,
            Ok(_) => {}
            // A file removed meanwhile (a rotation) is skipped; anything else is said.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = out.flush();
                let _ = writeln!(
                    std::io::stderr(),
                    "claude-mem-top: cannot read {}: {e}",
                    path.display()
                );
            }
        }
    }
    if closed || out.flush().is_err() {
        // The reader went away (`| head`): done, quietly.
        return Ok(0);
    }
    Ok(if hits > 0 { 0 } else { 1 })
}

fn write_text(out: &mut impl Write, name: &str, h: &Hit, tty: bool) -> std::io::Result<()> {
    for (i, (line, matched)) in h.lines.iter().enumerate() {
        let sep = if *matched { b':' } else { b'-' };
        write!(
            out,
            "{name}{}{}{}",
            sep as char,
            h.line + i as u64,
            sep as char
        )?;
        if tty {
            out.write_all(crate::logs::sanitize(&String::from_utf8_lossy(line)).as_bytes())?;
        } else {
            // Byte for byte, as grep does: a pipe gets the log's own bytes.
            out.write_all(line)?;
        }
        out.write_all(b"\n")?;
    }
    if h.more_lines > 0 {
        writeln!(out, "{name}-…-[{} more lines in this entry]", h.more_lines)?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, name: &str, h: &Hit) -> std::io::Result<()> {
    let v = serde_json::json!({
        "file": name,
        "date": crate::logs::log_date(name),
        "line": h.line,
        "offset": h.offset,
        "level": h.level.map(Level::label),
        "time": h.time.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
        "lines": h.lines.iter().map(|(l, _)| String::from_utf8_lossy(l)).collect::<Vec<_>>(),
        "matched": h.lines.iter().map(|(_, m)| *m).collect::<Vec<_>>(),
        "more_lines": h.more_lines,
    });
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")
}
