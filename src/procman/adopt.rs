//! `adopt`: when the PID file is missing or stale but exactly one proven claude-mem worker
//! answers the configured port, record that worker again, in the data dir's own layout, so the
//! hooks and our `stop` see it.

use std::path::PathBuf;

use super::census::{self, Answer, Member, Scope};
use super::files::{self, JSON_PID_FILE, PID_FILE, PORT_FILE};
use super::lock::Lock;
use super::status::{self, Layout, State, StatusOpts};
use super::Error;
use crate::config::Config;
use crate::platform::{self, Pid};

/// What `adopt` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub pid: Pid,
    pub port: u16,
    pub layout: Layout,
    pub files: Vec<PathBuf>,
    /// Why the old record did not count.
    pub was: String,
}

/// Why `adopt` would not.
fn refuse(reason: String) -> Error {
    Error::AdoptRefused(reason)
}

/// The one worker that may be adopted, proven: a claude-mem worker by its command line, the
/// listener of the port, healthy there, ours, and not of another data dir.
fn candidate(cfg: &Config, port: u16, census: &census::Census) -> Result<Member, Error> {
    let here = std::fs::canonicalize(&cfg.data_dir).unwrap_or_else(|_| cfg.data_dir.clone());
    let on_port: Vec<&Member> = census
        .workers()
        .filter(|m| m.ports.contains(&port))
        .collect();
    let m = match on_port.as_slice() {
        [] => {
            let holder = platform::port_holder(port)
                .map(|h| format!(": port {port} is held by {h}, which is not a claude-mem worker"))
                .unwrap_or_else(|| format!(": nothing listens on port {port}"));
            return Err(refuse(format!(
                "no claude-mem worker answers the port{holder}"
            )));
        }
        [one] => *one,
        many => {
            let pids: Vec<String> = many.iter().map(|m| m.pid.to_string()).collect();
            return Err(refuse(format!(
                "{} claude-mem workers listen on port {port} (PIDs {}): stop the extra ones first",
                many.len(),
                pids.join(", ")
            )));
        }
    };
    if m.answer != Some(Answer::Healthy) {
        return Err(refuse(format!(
            "PID {} listens on port {port} but is not healthy ({:?})",
            m.pid, m.answer
        )));
    }
    if platform::port_holder(port).and_then(|h| h.pid) != Some(m.pid) {
        return Err(refuse(format!(
            "PID {} is not the listener of port {port}",
            m.pid
        )));
    }
    if !m.is_ours() {
        return Err(refuse(format!(
            "PID {} runs as uid {}, not as you",
            m.pid,
            m.owner.unwrap_or_default()
        )));
    }
    if let Some(d) = m.data_dir.as_ref().filter(|d| **d != here) {
        return Err(refuse(format!(
            "PID {} works on data dir {}, not {}",
            m.pid,
            d.display(),
            cfg.data_dir.display()
        )));
    }
    if !m.still_same() {
        return Err(refuse(format!("PID {} has just exited", m.pid)));
    }
    Ok(m.clone())
}

/// Record the unmanaged worker on the port. `confirmed`: the worker the user was shown and
/// agreed to (the dashboard's `A`); if the port's worker is now another process, nothing is
/// recorded.
/// Why nothing can be adopted in this state: only an unmanaged worker on the port is.
fn refusal(st: &status::Status) -> Option<Error> {
    match st.state() {
        State::Unmanaged => None,
        State::Running => Some(refuse(format!(
            "the PID file already names the running worker (PID {})",
            st.pid().map_or_else(|| "?".into(), |p| p.to_string())
        ))),
        State::Unknown => Some(Error::Unknown(st.reason().unwrap_or_default().to_string())),
        State::Taken => Some(refuse(format!(
            "{}: not yours to adopt",
            st.reason().unwrap_or("the port is held by another worker")
        ))),
        _ => Some(refuse(format!(
            "no worker answers port {} ({}{})",
            st.port,
            st.state().label(),
            st.reason().map(|r| format!(": {r}")).unwrap_or_default()
        ))),
    }
}

pub fn adopt(cfg: &Config, confirmed: Option<&Member>) -> Result<Adopted, Error> {
    super::control::readable_data_dir(cfg)?;
    // Refused before the lock too, so a refused adopt writes nothing (not even the lock file).
    if let Some(e) = refusal(&status::status(cfg, StatusOpts::default())) {
        return Err(e);
    }
    let _lock = Lock::acquire(&cfg.data_dir, std::time::Duration::from_secs(5))?;
    let st = status::status(cfg, StatusOpts::default());
    if let Some(e) = refusal(&st) {
        return Err(e);
    }
    let census = census::take(cfg, Scope::DataDir, None);
    let m = candidate(cfg, st.port, &census)?;
    if let Some(c) = confirmed.filter(|c| c.pid != m.pid || c.start != m.start) {
        return Err(refuse(format!(
            "the worker on port {} is no longer the one confirmed (PID {}, now PID {}): nothing recorded",
            st.port, c.pid, m.pid
        )));
    }
    let was = st.reason().unwrap_or("no PID file").to_string();
    let layout = match st.layout {
        Layout::None if status::has_v13_files(&cfg.data_dir) => Layout::V13,
        Layout::None => Layout::Spec,
        l => l,
    };
    let write = |name: &str, content: String| -> Result<PathBuf, Error> {
        let path = cfg.path(name);
        files::write_atomic(&path, content.as_bytes())
            .map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(path)
    };
    let started = m.started_at.clone().unwrap_or_else(files::iso_now);
    let files = match layout {
        Layout::V13 => {
            let json = serde_json::json!({
                "pid": m.pid,
                "port": st.port,
                "startedAt": started,
                "startToken": m.start.raw().to_string(),
            });
            vec![write(JSON_PID_FILE, json.to_string())?]
        }
        Layout::V7 => {
            let json = serde_json::json!({ "pid": m.pid, "port": st.port, "startedAt": started });
            vec![write(JSON_PID_FILE, json.to_string())?]
        }
        _ => vec![
            write(PID_FILE, m.pid.to_string())?,
            write(PORT_FILE, format!("{}\n{}", st.port, m.pid))?,
        ],
    };
    Ok(Adopted {
        pid: m.pid,
        port: st.port,
        layout,
        files,
        was,
    })
}
