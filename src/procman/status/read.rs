//! The disk and process-table side of a status read: the data dir, the PID and port files of
//! every layout (`pid_layer`), the identity proofs and the ownership of a proven worker. What
//! follows from them is `decide.rs`'s; the worker's answers are `probe.rs`'s.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::decide::{self, Process};
use super::probe::{http_check, probe_unmanaged, Prober};
use super::{Check, Found, Layer, Layout, Record, Status, Worker};
use crate::config::{Config, PortSource};
use crate::platform;
use crate::procman::api::Family;
use crate::procman::files::{self, FileProblem, JSON_PID_FILE, MARKER_FILE, PID_FILE, PORT_FILE};
use crate::procman::identity::{self, Claim};
use crate::procman::ownership;

/// What the pid-file layer found.
enum PidLayer {
    Absent,
    Records(Vec<Record>),
    Invalid(FileProblem),
    Untrusted(FileProblem),
}

fn system_time(t: chrono::DateTime<chrono::Utc>) -> SystemTime {
    let ms = t.timestamp_millis();
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    }
}

/// Read the PID records of every layout present.
fn pid_layer(cfg: &Config, warnings: &mut Vec<String>) -> PidLayer {
    let mut records = Vec::new();
    let mut invalid = None;
    let dir = &cfg.data_dir;

    match files::read_small(&dir.join(PID_FILE)) {
        Ok(None) => {}
        Err(p) if p.is_untrusted() => return PidLayer::Untrusted(p),
        Err(p) => invalid = Some(p),
        Ok(Some(f)) => {
            if f.world_writable {
                warnings.push(format!(
                    "{} is world-writable: anyone can redirect our signals",
                    f.path.display()
                ));
            }
            match files::parse_pid_file(&f.path, &f.text) {
                Err(p) => invalid = Some(p),
                Ok(pid) => {
                    let port = match files::read_small(&dir.join(PORT_FILE)) {
                        Ok(Some(pf)) => match files::parse_port_file(&pf.path, &pf.text) {
                            Ok((port, ppid)) if ppid == pid => Some(port),
                            Ok((_, ppid)) => {
                                warnings.push(format!(
                                    "{} names PID {ppid}, but {} names {pid}",
                                    pf.path.display(),
                                    f.path.display()
                                ));
                                None
                            }
                            Err(p) => {
                                warnings.push(p.to_string());
                                None
                            }
                        },
                        Ok(None) => None,
                        Err(p) => {
                            warnings.push(p.to_string());
                            None
                        }
                    };
                    let start_token = files::read_identity(dir)
                        .filter(|i| i.pid == pid)
                        .map(|i| i.start_token);
                    records.push(Record {
                        layout: Layout::Spec,
                        path: f.path.clone(),
                        claim: Claim {
                            pid,
                            written: f.mtime,
                            start_token,
                        },
                        port,
                        version: None,
                    });
                }
            }
        }
    }

    match files::read_small(&dir.join(JSON_PID_FILE)) {
        Ok(None) => {}
        Err(p) if p.is_untrusted() => {
            if records.is_empty() {
                return PidLayer::Untrusted(p);
            }
            warnings.push(p.to_string());
        }
        Err(p) => {
            invalid.get_or_insert(p);
        }
        Ok(Some(f)) => match files::parse_json_pid(&f.path, &f.text) {
            Err(p) => {
                invalid.get_or_insert(p);
            }
            Ok(j) => {
                let layout = if j.start_token.is_some() {
                    Layout::V13
                } else {
                    Layout::V7
                };
                // Our own spawn record proves identity exactly when it names this PID.
                let start_token = j.start_token.or_else(|| {
                    files::read_identity(dir)
                        .filter(|i| i.pid == j.pid)
                        .map(|i| i.start_token)
                });
                records.push(Record {
                    layout,
                    path: f.path.clone(),
                    claim: Claim {
                        pid: j.pid,
                        written: j.started_at.map(system_time).unwrap_or(f.mtime),
                        start_token,
                    },
                    port: j.port,
                    version: j.version.filter(|v| v != "unknown"),
                });
            }
        },
    }
    match (records.is_empty(), invalid) {
        (false, inv) => {
            if let Some(p) = inv {
                warnings.push(p.to_string());
            }
            PidLayer::Records(records)
        }
        (true, Some(p)) => PidLayer::Invalid(p),
        (true, None) => PidLayer::Absent,
    }
}

/// True when 13.x-only files are present.
pub fn has_v13_files(dir: &Path) -> bool {
    platform::exists(&dir.join("supervisor.json"))
        || platform::exists(&dir.join(".worker-clean-shutdown"))
}

/// The default port of the 13.x layout: 37700 + uid % 100 where there are uids, else 37777 (the
/// 13.x formula is Unix only).
pub fn v13_default_port() -> u16 {
    match platform::current_uid() {
        Some(uid) => 37700 + (uid % 100) as u16,
        None => crate::config::DEFAULT_PORT,
    }
}

/// The three layers of `cfg`'s data dir, into `st` (the warnings apart).
pub(super) fn read_layers(
    cfg: &Config,
    prober: &mut Prober<'_, '_>,
    mut st: Status,
    warnings: &mut Vec<String>,
) -> Status {
    let dir = &cfg.data_dir;

    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            if platform::is_world_writable(&m) {
                warnings.push(format!("data dir {} is world-writable", dir.display()));
            }
        }
        Ok(_) => {
            st.worker = Worker::Unknown {
                reason: format!("data dir {} is not a directory", dir.display()),
            };
            return st;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            st.checks.push(Check::new(
                Layer::PidFile,
                false,
                format!("data dir {} does not exist", dir.display()),
            ));
            probe_unmanaged(cfg, prober, &mut st, Family::Older);
            return st;
        }
        Err(e) => {
            st.worker = Worker::Unknown {
                reason: format!("cannot read data dir {}: {e}", dir.display()),
            };
            return st;
        }
    }
    if let Err(e) = std::fs::read_dir(dir) {
        st.worker = Worker::Unknown {
            reason: format!("cannot read data dir {}: {e}", dir.display()),
        };
        return st;
    }

    st.pm2_migrated_at = match files::read_small(&dir.join(MARKER_FILE)) {
        Ok(Some(f)) => Some(
            files::parse_marker(&f.text)
                .map(files::iso)
                .unwrap_or_else(|| f.text.trim().chars().take(40).collect()),
        ),
        _ => None,
    };
    let v13 = has_v13_files(dir);
    if v13 && cfg.port_source == PortSource::Default {
        st.port = v13_default_port();
    }
    let mut family = if v13 { Family::V13 } else { Family::Older };

    match pid_layer(cfg, warnings) {
        PidLayer::Absent => {
            st.layout = if v13 { Layout::V13 } else { Layout::None };
            st.checks
                .push(Check::new(Layer::PidFile, false, "no PID file"));
            probe_unmanaged(cfg, prober, &mut st, family);
        }
        PidLayer::Untrusted(p) => {
            st.worker = Worker::Unknown {
                reason: p.to_string(),
            };
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
        }
        PidLayer::Invalid(p) => {
            st.worker = Worker::Stale {
                record: None,
                reason: p.to_string(),
            };
            st.layout = Layout::Spec;
            st.checks
                .push(Check::new(Layer::PidFile, false, p.to_string()));
            if let FileProblem::Invalid { path, .. } = &p {
                st.pid_file = Some(path.clone());
            }
        }
        PidLayer::Records(records) => {
            // Ask the worker now, on the port the first record names; the proofs take place
            // while it answers.
            if records.iter().any(|r| r.layout == Layout::V13) {
                family = Family::V13;
            }
            if let Some(r) = records.first() {
                prober.start(r.port.unwrap_or(st.port), family);
            }
            let mut verdicts: Vec<_> = records
                .into_iter()
                .map(|r| {
                    let v = identity::prove(&r.claim, &cfg.worker);
                    (r, v)
                })
                .collect();
            let idx = decide::pick(verdicts.iter().map(|(_, v)| v.is_ok()));
            let (rec, verdict) = verdicts.swap_remove(idx);
            st.layout = rec.layout;
            st.pid_file = Some(rec.path.clone());
            let configured = st.port;
            let (port, contradicts) = decide::port_to_ask(rec.port, configured, &cfg.port_source);
            if contradicts {
                warnings.push(format!(
                    "{} records port {port}, but {} says {configured}",
                    rec.path.display(),
                    cfg.port_source,
                ));
            }
            st.port = port;
            st.checks.push(Check::new(
                Layer::PidFile,
                true,
                format!(
                    "{}: PID {}",
                    rec.path
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default(),
                    rec.claim.pid
                ),
            ));
            // Alive and the worker, but is it this data dir's?
            let proof = verdict.map(|proven| {
                let owner = ownership::of(&proven.info, cfg);
                (proven, owner)
            });
            let (check, process) = decide::process(&rec.path, proof);
            st.checks.push(check);
            match process {
                Process::Stale { reason, elsewhere } => {
                    if elsewhere.is_some() {
                        st.elsewhere = elsewhere;
                        // The record's port is that worker's, not this data dir's.
                        st.port = configured;
                    }
                    st.worker = Worker::Stale {
                        record: Some(rec),
                        reason,
                    };
                    // The file is stale, but is a worker answering on the port anyway?
                    probe_unmanaged(cfg, prober, &mut st, family);
                    return st;
                }
                Process::Ours(proven) => {
                    let probe = prober.answer(&mut st, family);
                    st.checks.push(http_check(&probe));
                    st.worker = decide::answered(Found::new(proven, rec), &probe, st.port);
                    st.probe = Some(probe);
                }
            }
        }
    }
    st
}
