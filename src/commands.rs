//! The headless commands: each calls the core and turns its answer into text and an exit code.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::Format;
use crate::config::{self, Config, ConfigError};
use crate::logs::follow::{FollowEvent, Follower, LogReset};
use crate::logs::{self, Level};
use crate::procman::control::{self, Opts, StartOutcome, StopOutcome};
use crate::procman::status::{self, StatusOpts};
use crate::procman::{migrate, Error};

/// A failure to report: one line on stderr and an exit code.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub msg: String,
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail {
            code: e.exit_code(),
            msg: e.to_string(),
        }
    }
}

impl From<ConfigError> for Fail {
    fn from(e: ConfigError) -> Self {
        Fail {
            code: 2,
            msg: e.to_string(),
        }
    }
}

pub type Res = Result<u8, Fail>;

pub fn status(cfg: &Config, format: Format, stall_after: Duration) -> Res {
    print_status(cfg, format, stall_after, false)
}

/// `--once`: the status, and what the worker stored last (the Activity panel's newest items).
pub fn once(cfg: &Config, format: Format, stall_after: Duration) -> Res {
    print_status(cfg, format, stall_after, true)
}

fn print_status(cfg: &Config, format: Format, stall_after: Duration, with_activity: bool) -> Res {
    let t0 = std::time::Instant::now();
    let opts = StatusOpts {
        stall_after,
        activity: if with_activity { ONCE_ACTIVITY } else { 0 },
        ..StatusOpts::display()
    };
    let st = status::status(cfg, opts);
    let out = match format {
        Format::Text => crate::once::text(&st) + &crate::once::activity_text(&st.activity),
        Format::Json if with_activity => {
            let queue = crate::inspect::queue_summary(cfg, stall_after);
            crate::once::json_with_activity(&st, &st.activity, queue) + "\n"
        }
        Format::Json => crate::once::json(&st) + "\n",
        Format::Prometheus => crate::metrics::render(cfg, &st, t0),
    };
    print!("{out}");
    Ok(st.state().exit_code())
}

/// Items `--once` shows.
const ONCE_ACTIVITY: usize = 10;

fn print_notes(notes: &[String]) {
    for n in notes {
        println!("  {n}");
    }
}

pub fn start(cfg: &Config, timeout: Duration) -> Res {
    let opts = Opts {
        timeout,
        ..Opts::default()
    };
    report_start(control::start(cfg, opts)?);
    Ok(0)
}

fn report_start(o: StartOutcome) {
    match o {
        StartOutcome::AlreadyRunning { pid, port } => {
            println!("Worker is already running (PID {pid}, port {port})")
        }
        StartOutcome::Started {
            pid,
            port,
            elapsed,
            notes,
            ..
        } => {
            print_notes(&notes);
            println!(
                "Worker started (PID {pid}, port {port}) in {} ms",
                elapsed.as_millis()
            );
        }
    }
}

fn report_stop(o: StopOutcome) {
    match o {
        StopOutcome::NotRunning { notes } => {
            println!("Worker is not running");
            print_notes(&notes);
        }
        StopOutcome::Stopped {
            pid,
            elapsed,
            killed,
        } => {
            let how = if killed {
                " (SIGKILL after the grace period)"
            } else {
                ""
            };
            println!(
                "Worker stopped (PID {pid}) in {} ms{how}",
                elapsed.as_millis()
            );
        }
    }
}

pub fn stop(cfg: &Config, grace: Duration) -> Res {
    let opts = Opts {
        grace,
        ..Opts::default()
    };
    report_stop(control::stop(cfg, opts)?);
    Ok(0)
}

pub fn restart(cfg: &Config, timeout: Duration, grace: Duration) -> Res {
    let opts = Opts {
        timeout,
        grace,
        ..Opts::default()
    };
    let (stopped, started) = control::restart(cfg, opts)?;
    report_stop(stopped);
    report_start(started);
    Ok(0)
}

/// For hooks: nothing on stdout, errors on stderr, bounded wait for the lock.
pub fn ensure(cfg: &Config, timeout: Duration) -> Res {
    let opts = Opts {
        timeout,
        lock_wait: timeout + Duration::from_secs(5),
        ..Opts::default()
    };
    control::ensure(cfg, opts)?;
    Ok(0)
}

/// `migrate`: the one-time PM2 cleanup on demand. Exit 1, naming the daemon and the command to
/// run, when a pm2 daemon still runs claude-mem-worker afterwards (the marker is then not written).
/// The data dir can be read (else state unknown, exit 4, as `status` and the actions say).
fn readable(cfg: &Config) -> Result<(), Fail> {
    crate::procman::control::readable_data_dir(cfg).map_err(|e| Fail {
        code: e.exit_code(),
        msg: e.to_string(),
    })
}

pub fn migrate(cfg: &Config) -> Res {
    readable(cfg)?;
    let marker = || cfg.path(crate::procman::files::MARKER_FILE);
    let r = match migrate::run(cfg, true) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(0),
        Err(e) => {
            return Err(Fail {
                code: 1,
                msg: format!(
                    "cannot write the PM2 marker in {}: {e}",
                    cfg.data_dir.display()
                ),
            })
        }
    };
    if let migrate::Pm2Outcome::NotDeleted { .. } = &r.pm2 {
        return Err(Fail {
            code: 1,
            msg: format!("{}; {} not written", r.pm2.summary(), marker().display()),
        });
    }
    println!("{}", capitalized(&r.pm2.summary()));
    if let migrate::Pm2Outcome::Deleted {
        home,
        dump_lists_app: true,
        ..
    } = &r.pm2
    {
        println!(
            "Note: {} still lists claude-mem-worker: `PM2_HOME={} pm2 save` persists the deletion",
            home.join("dump.pm2").display(),
            home.display()
        );
    }
    match r.marker_written {
        Some(t) => println!("Wrote {} ({t})", marker().display()),
        None => println!("Marker already present; left as it was"),
    }
    Ok(0)
}

/// The summary as a sentence; `pm2` keeps its lower case.
fn capitalized(s: &str) -> String {
    if s.starts_with("pm2") {
        return s.to_string();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn logs(cfg: &Config, lines: usize, follow: bool, min: Option<Level>) -> Res {
    readable(cfg)?;
    let tty = std::io::stdout().is_terminal();
    let clean = |s: &str| {
        if tty {
            logs::sanitize(s)
        } else {
            s.to_string()
        }
    };
    let logs_dir = cfg.logs_dir();
    let mut out = std::io::stdout().lock();
    // The backlog and the follow come from one follower, so no line is lost or doubled between.
    // Enough of the end to hold `lines` entries' worth of lines.
    let (mut follower, first) =
        Follower::open(logs_dir.clone(), lines.saturating_mul(4).max(lines + 50));
    if let FollowEvent::Reset {
        path, lines: all, ..
    } = first
    {
        if path.is_none() && !follow {
            return Err(Fail {
                code: 1,
                msg: format!("no worker log in {} yet", logs_dir.display()),
            });
        }
        if path.is_none() {
            // On stderr: stdout stays the log's own lines for pipes.
            let _ = writeln!(
                std::io::stderr(),
                "claude-mem-top: no worker log in {} yet; waiting for worker-*.log or claude-mem-*.log \
                 to appear (Ctrl-C to stop)",
                logs_dir.display()
            );
        }
        let entries = logs::group(all);
        let mut shown: Vec<&str> = entries
            .iter()
            .filter(|e| logs::passes(e, min))
            .flat_map(|e| e.lines.iter().map(String::as_str))
            .collect();
        let skip = shown.len().saturating_sub(lines);
        shown.drain(..skip);
        for l in shown {
            let _ = writeln!(out, "{}", clean(l));
        }
        let _ = out.flush();
    }
    if !follow {
        return Ok(0);
    }
    let mut pass = true;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let alive = follower.poll(&mut |ev| {
            let lines = match ev {
                FollowEvent::Reset {
                    path,
                    reason,
                    lines,
                } => {
                    let what = match (reason, &path) {
                        (LogReset::Truncated, Some(p)) => {
                            format!("==> {} was truncated <==", p.display())
                        }
                        (LogReset::Rotated, Some(p)) => {
                            format!("==> {} was rotated <==", p.display())
                        }
                        (_, Some(p)) => format!("==> {} <==", p.display()),
                        (_, None) => "==> log removed <==".to_string(),
                    };
                    if writeln!(out, "{what}").is_err() {
                        return false;
                    }
                    // A new file's first lines.
                    lines
                }
                FollowEvent::Lines(lines) => lines,
            };
            for l in lines {
                if logs::starts_entry(&l) {
                    pass = min.is_none() || logs::line_level(&l).is_none_or(|lv| Some(lv) >= min);
                }
                if pass && writeln!(out, "{}", clean(&l)).is_err() {
                    return false;
                }
            }
            out.flush().is_ok()
        });
        if !alive {
            return Ok(0);
        }
    }
}

pub fn load_config(g: &crate::cli::Global) -> Result<Config, Fail> {
    Ok(Config::load(&config::Overrides {
        data_dir: g.data_dir.clone(),
        port: g.port.clone(),
        worker_cmd: g.worker_cmd.clone(),
    })?)
}

/// `doctor`: every check, then exit 0 if none failed, else 1. A broken settings.json is reported,
/// not fatal.
pub fn doctor(g: &crate::cli::Global, json: bool, stall_after: Duration) -> Res {
    let (cfg, config_error) = crate::doctor::load(&config::Overrides {
        data_dir: g.data_dir.clone(),
        port: g.port.clone(),
        worker_cmd: g.worker_cmd.clone(),
    })?;
    let report = crate::doctor::run(&cfg, config_error.as_ref(), stall_after);
    if json {
        println!("{}", crate::doctor::json(&report));
    } else {
        print!("{}", crate::doctor::text(&report));
    }
    Ok(report.exit_code())
}

pub fn supervise(cfg: &Config, args: &crate::supervise::SuperviseArgs) -> Res {
    crate::supervise::run(cfg, args).map_err(|(code, msg)| Fail { code, msg })
}

pub fn serve_metrics(cfg: &Config, listen: &str, allow_remote: bool, stall_after: Duration) -> Res {
    let addr =
        crate::metrics::listen_addr(listen, allow_remote).map_err(|msg| Fail { code: 2, msg })?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| Fail {
        code: 1,
        msg: format!("cannot listen on {addr}: {e}"),
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    println!("Serving Prometheus metrics on http://{bound}/metrics");
    let _ = std::io::stdout().flush();
    crate::serve::serve(cfg, listener, stall_after).map_err(|e| Fail {
        code: 1,
        msg: format!("metrics server on {bound}: {e}"),
    })?;
    Ok(0)
}

pub fn completions(shell: clap_complete::Shell) -> Res {
    let mut cmd = crate::cli::public_command();
    clap_complete::generate(shell, &mut cmd, "claude-mem-top", &mut std::io::stdout());
    Ok(0)
}

/// The man page on stdout, or one page per command into `dir`.
pub fn man(dir: Option<&std::path::Path>) -> Res {
    let cmd = crate::cli::man_command();
    let fail = |e: std::io::Error| Fail {
        code: 1,
        msg: format!("cannot write the man page: {e}"),
    };
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(fail)?;
        clap_mangen::generate_to(cmd, dir).map_err(fail)?;
        println!("Wrote the man pages to {}", dir.display());
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .and_then(|()| out.flush())
        .map_err(fail)?;
    Ok(0)
}

/// `ps`: the census as a table (or JSON).
pub fn ps(cfg: &Config, json: bool, all: bool) -> Res {
    use crate::procman::census::{self, Scope};
    let named = census::named_worker(cfg);
    let scope = if all { Scope::All } else { Scope::DataDir };
    let c = census::take(cfg, scope, named);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&c).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else {
        print!("{}", crate::procs::table(&c, cfg.home.as_deref()));
    }
    Ok(0)
}

/// `adopt`: point the PID file at the worker that answers the port.
pub fn adopt(cfg: &Config) -> Res {
    let a = crate::procman::adopt::adopt(cfg, None)?;
    let files: Vec<String> = a.files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "Adopted the worker PID {} on port {} (was: {}); wrote {}",
        a.pid,
        a.port,
        a.was,
        files.join(", ")
    );
    Ok(0)
}

/// `reap`: end the proven orphaned helpers of this data dir.
pub fn reap(cfg: &Config, dry_run: bool, grace: Duration, json: bool) -> Res {
    use crate::procman::census::{self, ReapOutcome, Scope};
    let c = census::take(cfg, Scope::DataDir, None);
    let targets = census::reapable(&c, cfg);
    let refs: Vec<&census::Member> = targets.iter().collect();
    let done = census::end(&refs, grace, dry_run);
    let failed = done
        .iter()
        .filter(|r| {
            !matches!(
                r.outcome,
                ReapOutcome::Listed | ReapOutcome::Ended | ReapOutcome::Killed | ReapOutcome::Gone
            )
        })
        .count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&done)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else {
        print!("{}", crate::procs::reap_text(&done, dry_run));
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
