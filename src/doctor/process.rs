//! Doctor checks of the running worker and what competes with it: its state, its PID/port files,
//! the port's holder, PM2 leftovers and the migration marker.

use super::{fail, ok, user_label, warn, Finding};
use crate::config::Config;
use crate::platform;
use crate::procman::files::{self, MARKER_FILE, PORT_FILE};
use crate::procman::pm2;
use crate::procman::status::{self, Layout, State, Status};

pub(super) fn check_worker(st: &Status) -> Finding {
    const ID: &str = "worker";
    const T: &str = "worker";
    let reason = st.reason().unwrap_or_default();
    match st.state() {
        State::Running => {
            let lat = st
                .probe
                .as_ref()
                .map(|p| format!(", GET /health {:.1} ms", p.latency.as_secs_f64() * 1000.0))
                .unwrap_or_default();
            ok(
                ID,
                T,
                format!(
                    "running and healthy: PID {}, port {}{lat}",
                    st.pid().unwrap_or(0),
                    st.port
                ),
            )
        }
        State::Unhealthy if st.proven().is_none() => fail(
            ID,
            T,
            format!("no proven worker; {reason}"),
            "stop whatever holds the port (`claude-mem-top ps` shows it if it is a claude-mem worker), then claude-mem-top start",
        ),
        State::Unhealthy => fail(
            ID,
            T,
            format!(
                "PID {} runs but is unhealthy: {reason}",
                st.pid().unwrap_or(0)
            ),
            "claude-mem-top restart; then `claude-mem-top logs --level warn` for the cause",
        ),
        State::Stale if st.elsewhere.is_some() => fail(
            ID,
            T,
            format!("not running: {reason}"),
            "move the copied PID file out of this data dir (it names another data dir's or user's worker)",
        ),
        State::Stopped | State::Stale => warn(
            ID,
            T,
            "not running",
            "claude-mem-top start (claude-mem's hooks also start it on the next session)",
        ),
        State::Unmanaged => warn(
            ID,
            T,
            format!(
                "a worker (PID {}) answers on port {}: {reason}",
                st.pid().map_or_else(|| "?".into(), |p| p.to_string()),
                st.port
            ),
            "claude-mem-top adopt (records it in the PID file), or leave it as is",
        ),
        State::Taken => fail(
            ID,
            T,
            reason.to_string(),
            "not yours to stop or adopt: give this data dir another CLAUDE_MEM_WORKER_PORT in its settings.json",
        ),
        State::Unknown => fail(
            ID,
            T,
            format!("state unknown: {reason}"),
            "check the owner and type of the files named above (they must be regular files of yours)",
        ),
    }
}

pub(super) fn check_pid_files(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "pid_files";
    const T: &str = "pid/port files";
    let named = st
        .pid_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the PID file".into());
    // A record no live worker proves is stale, whatever answers the port meanwhile.
    let stale = st.state() == State::Stale
        || (st.record().is_some() && st.proven().is_none() && st.state() != State::Unknown);
    match st.state() {
        _ if stale => {
            let port_file = cfg.path(PORT_FILE);
            let also = if platform::exists(&port_file) {
                format!(" and {}", port_file.display())
            } else {
                String::new()
            };
            fail(
                ID,
                T,
                format!(
                    "stale {named}: {}",
                    st.checks
                        .iter()
                        .find(|c| c.name == crate::procman::status::Layer::Process && !c.ok)
                        .map(|c| c.detail.as_str())
                        .or(st.reason())
                        .unwrap_or("it names no live worker")
                ),
                &format!("claude-mem-top start (it removes stale files), or delete {named}{also}"),
            )
        }
        State::Unknown => fail(
            ID,
            T,
            st.reason().unwrap_or("unreadable"),
            "make the PID file a regular file owned by you, or remove it if no worker runs",
        ),
        _ => {
            if let Some(w) = st
                .warnings
                .iter()
                .find(|w| w.contains(".worker.") || w.contains("worker.pid"))
            {
                return warn(
                    ID,
                    T,
                    w.clone(),
                    "claude-mem-top restart rewrites the PID and port files",
                );
            }
            let port_file = cfg.path(PORT_FILE);
            if st.pid_file.is_none() && platform::exists(&port_file) {
                return warn(
                    ID,
                    T,
                    format!("{} exists without a PID file", port_file.display()),
                    &format!("delete {}", port_file.display()),
                );
            }
            match (&st.pid_file, &st.proven()) {
                (Some(p), Some(w)) => ok(
                    ID,
                    T,
                    format!(
                        "{} names PID {}, proven to be the worker",
                        p.display(),
                        w.pid
                    ),
                ),
                _ => ok(ID, T, "no PID file, and none needed: no worker runs"),
            }
        }
    }
}

pub(super) fn check_port(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "port";
    const T: &str = "port";
    let port = st.port;
    let from = &cfg.port_source;
    let Some(h) = platform::port_holder(port) else {
        return if matches!(st.state(), State::Running | State::Unhealthy) {
            warn(
                ID,
                T,
                format!("port {port} ({from}) has no listener, though the worker runs"),
                "claude-mem-top restart",
            )
        } else {
            ok(ID, T, format!("port {port} ({from}) is free"))
        };
    };
    // Another data dir's or user's worker holds it: named with what is known of it (its PID from
    // its own /health when the socket table hides it), never a fix that stops or adopts it.
    if let (State::Taken, Some(e)) = (st.state(), &st.elsewhere) {
        return fail(
            ID,
            T,
            format!("port {port} ({from}) is held by {e}"),
            &format!(
                "not yours to adopt or stop: give this data dir a free CLAUDE_MEM_WORKER_PORT in {}",
                cfg.settings_path().display()
            ),
        );
    }
    let worker_pid = st.proven().map(|p| p.pid);
    let family =
        |pid: i32| worker_pid.is_some_and(|w| w == pid || platform::descendants(w).contains(&pid));
    if h.pid.is_some_and(family) {
        return ok(
            ID,
            T,
            format!(
                "port {port} ({from}) is held by the worker (PID {})",
                h.pid.unwrap_or(0)
            ),
        );
    }
    let who = match (h.pid, &h.command) {
        (Some(pid), Some(cmd)) => format!("PID {pid} ({cmd}), {}", user_label(h.uid)),
        (Some(pid), None) => format!("PID {pid}, {}", user_label(h.uid)),
        (None, _) => format!(
            "a process of {} (its PID is not visible to you)",
            user_label(h.uid)
        ),
    };
    // A claude-mem worker on the port is named as one: never "kill it if it is a leftover".
    if let Some(m) = h.pid.and_then(|pid| {
        st.processes
            .iter()
            .find(|m| m.pid == pid && m.class.is_worker())
    }) {
        let version = m
            .version
            .as_deref()
            .map(|v| format!(" v{v}"))
            .unwrap_or_default();
        let others = matches!(
            m.class,
            crate::procman::census::Class::Foreign | crate::procman::census::Class::OtherUser
        );
        let fix = if others {
            // Never offer to adopt or stop another data dir's or user's worker.
            format!(
                "not yours to adopt or stop: give this data dir a free CLAUDE_MEM_WORKER_PORT in {}",
                cfg.settings_path().display()
            )
        } else {
            "claude-mem-top adopt records it if the PID file is missing or stale; `claude-mem-top ps` shows every worker".to_string()
        };
        return warn(
            ID,
            T,
            format!(
                "port {port} ({from}) is held by the claude-mem worker PID {}{version} ({}): {who}",
                m.pid,
                m.class.label()
            ),
            &fix,
        );
    }
    if st.state() == State::Unmanaged {
        return warn(
            ID,
            T,
            format!("port {port} ({from}) is held by an unmanaged worker: {who}"),
            "claude-mem-top adopt records it, or leave it as is",
        );
    }
    let fix = match h.pid {
        Some(pid) => format!(
            "stop PID {pid} (`kill {pid}`) if it is a leftover, or set CLAUDE_MEM_WORKER_PORT in {} to a free port",
            cfg.settings_path().display()
        ),
        None => format!(
            "ask that user to stop it, or set CLAUDE_MEM_WORKER_PORT in {} to a free port",
            cfg.settings_path().display()
        ),
    };
    fail(
        ID,
        T,
        format!("port {port} ({from}) is in use by {who}"),
        &fix,
    )
}

/// pm2 daemons in the process table (`PM2 vX: God Daemon (HOME)`), whatever their pid file says.
fn pm2_daemons_in_proc() -> Vec<i32> {
    platform::processes()
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|p| *p > 1)
        .filter(|p| {
            platform::proc_info(*p).is_some_and(|i| {
                !i.zombie && i.cmdline.first().is_some_and(|x| x.contains("God Daemon"))
            })
        })
        .collect()
}

pub(super) fn check_pm2(cfg: &Config) -> Finding {
    const ID: &str = "pm2";
    const T: &str = "PM2 leftovers";
    let found = pm2::detect(cfg.home.as_deref());
    let mut daemons = pm2_daemons_in_proc();
    if let Some(d) = found.as_ref().and_then(|f| f.daemon_pid) {
        if !daemons.contains(&d) {
            daemons.insert(0, d);
        }
    }
    let Some(found) = found else {
        return if daemons.is_empty() {
            ok(
                ID,
                T,
                "no PM2 home and no pm2 daemon: nothing left from PM2",
            )
        } else {
            warn(
                ID,
                T,
                format!("a pm2 daemon runs (PID {daemons:?}) with a PM2 home elsewhere"),
                "pm2 kill, if nothing else of yours uses pm2",
            )
        };
    };
    let home = found.home.display().to_string();
    let live = found.live_apps();
    let pids = |sep: &str, first: &str| {
        let l: Vec<String> = live.iter().map(|p| p.to_string()).collect();
        format!("{first}{}", l.join(sep))
    };
    // `migrate` acts only through a live daemon; without one, pm2 cannot remove the app.
    if found.runs_worker() {
        return fail(
            ID,
            T,
            format!(
                "the pm2 daemon PID {} still runs claude-mem-worker ({}) from {home}: it competes for the worker's port",
                found.daemon_pid.unwrap_or(0),
                pids(", PID ", "PID ")
            ),
            &format!("claude-mem-top migrate (or PM2_HOME={home} pm2 delete claude-mem-worker && pm2 save)"),
        );
    }
    if !live.is_empty() {
        return fail(
            ID,
            T,
            format!(
                "claude-mem-worker ({}) from {home} runs without its pm2 daemon: it competes for the worker's port",
                pids(", PID ", "PID ")
            ),
            &format!(
                "check it and stop it: kill {} (pm2 cannot: no daemon)",
                pids(" ", "")
            ),
        );
    }
    let dump = found.home.join("dump.pm2");
    let in_dump = std::fs::read_to_string(&dump).is_ok_and(|t| t.contains("claude-mem-worker"));
    if in_dump {
        let fix = match found.daemon_pid {
            Some(_) => format!("PM2_HOME={home} pm2 delete claude-mem-worker; pm2 save"),
            // Any pm2 command would start a daemon first: edit the file instead.
            None => format!(
                "remove the claude-mem-worker entry from {} (or the file, if pm2 keeps nothing else of yours)",
                dump.display()
            ),
        };
        return warn(
            ID,
            T,
            format!(
                "{} lists claude-mem-worker: `pm2 resurrect` (or boot) would start it again",
                dump.display()
            ),
            &fix,
        );
    }
    if !daemons.is_empty() {
        return warn(
            ID,
            T,
            format!(
                "a pm2 daemon runs (PID {}) but no claude-mem-worker app",
                daemons
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pm2 kill, if nothing else of yours uses pm2",
        );
    }
    if !found.apps.is_empty() {
        let files: Vec<String> = found
            .apps
            .iter()
            .map(|a| a.pid_file.display().to_string())
            .collect();
        return warn(
            ID,
            T,
            format!("dead pm2 PID files: {}", files.join(", ")),
            &format!("rm {}", files.join(" ")),
        );
    }
    ok(
        ID,
        T,
        format!("{home}: no pm2 daemon, no claude-mem-worker app"),
    )
}

pub(super) fn check_marker(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "pm2_marker";
    const T: &str = "migration marker";
    let path = cfg.path(MARKER_FILE);
    match files::read_small(&path) {
        Ok(Some(f)) => match files::parse_marker(&f.text) {
            Some(t) => {
                if t > chrono::Utc::now() + chrono::Duration::seconds(60) {
                    warn(
                        ID,
                        T,
                        format!(
                            "{} is dated in the future ({})",
                            path.display(),
                            files::iso(t)
                        ),
                        "check the system clock (see the clock check)",
                    )
                } else {
                    ok(
                        ID,
                        T,
                        format!("{}: PM2 cleanup done {}", path.display(), files::iso(t)),
                    )
                }
            }
            None => warn(
                ID,
                T,
                format!(
                    "{} holds {:?}, not an ISO-8601 timestamp",
                    path.display(),
                    f.text.trim().chars().take(40).collect::<String>()
                ),
                &format!(
                    "delete {}; `claude-mem-top migrate` writes it again",
                    path.display()
                ),
            ),
        },
        Err(p) => warn(
            ID,
            T,
            p.to_string(),
            &format!(
                "remove {} if it is not a regular file of yours",
                path.display()
            ),
        ),
        Ok(None) if st.layout == Layout::V13 || status::has_v13_files(&cfg.data_dir) => {
            ok(ID, T, "absent; claude-mem 13.x does not use it")
        }
        Ok(None) => {
            // Advise `migrate` only where it acts: a live pm2 daemon running claude-mem-worker.
            let leftovers = pm2::detect(cfg.home.as_deref()).is_some_and(|p| p.runs_worker());
            if leftovers {
                warn(
                    ID,
                    T,
                    format!(
                        "{} absent: the PM2 cleanup never ran and pm2 still runs claude-mem-worker",
                        path.display()
                    ),
                    "claude-mem-top migrate",
                )
            } else {
                ok(
                    ID,
                    T,
                    format!(
                        "{} absent: the next start writes it (no pm2 daemon runs claude-mem-worker; \
                         other PM2 leftovers, if any, are the PM2 check's)",
                        path.display()
                    ),
                )
            }
        }
    }
}
