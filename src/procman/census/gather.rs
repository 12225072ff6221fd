//! Everything the census reads: the process table, a candidate's ports, environment and working
//! directory, the parent links the rules follow, this user's plugin dirs, the installed version,
//! and the answers of the listeners the rules ask about. What it reads is plain data
//! ([`Facts`]); what that data means is `classify.rs`'s.
//!
//! Which listeners are asked, and whose descendants are listed, are the rules' questions
//! (`classify::asked`, `classify::lists_descendants`): this file only carries them out.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::classify::{self, Facts, HelperFacts, Host, Link, PathArg, Place, Proc, WorkerFacts};
use super::{base, health, is_worker_argv, Answer, Heard, HelperKind, Scope};
use crate::config::Config;
use crate::platform::{self, Pid, ProcInfo, StartToken};
use crate::procman::ownership::{self, norm};

/// How long a worker's port may take to answer before it counts as wedged.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How often a long-lived [`Scanner`] reads every process's command line again (in between it
/// reads only those of new PIDs).
pub const FULL_SCAN: Duration = Duration::from_secs(120);

/// A process whose command line is a worker's (`kind` none) or a helper's.
#[derive(Debug)]
pub(super) struct Candidate {
    info: ProcInfo,
    kind: Option<HelperKind>,
}

/// The processes that may be claude-mem's, with their details: the part of a census that
/// reads the process table and asks no port. [`scan`] takes one (on its own thread, say, while
/// the caller's requests are in flight) and [`take_scanned`](super::take_scanned) makes the
/// census of it.
#[derive(Debug, Default)]
pub struct Scan {
    pub(super) candidates: Vec<Candidate>,
    /// The workers' data dirs and path versions, read with the table.
    pub(super) cache: Cache,
}

/// Scan the process table, and read each worker's environment (no port asked).
pub fn scan(cfg: &Config) -> Scan {
    let mut scanner = Scanner::default();
    Scan {
        candidates: scanner.candidates(cfg),
        cache: scanner.cache,
    }
}

/// The named worker of a data dir, if its PID file's process is proven: the file and process
/// layers only (a zero HTTP timeout sends no request).
pub fn named_worker(cfg: &Config) -> Option<Pid> {
    let st = crate::procman::status::status(
        cfg,
        crate::procman::status::StatusOpts {
            http_timeout: Duration::ZERO,
            ..crate::procman::status::StatusOpts::default()
        },
    );
    st.proven().map(|p| p.pid)
}

/// The plugin version in a worker's script path: `…/claude-mem/<version>/scripts/…`, else the
/// `package.json` beside its `scripts/` dir.
pub fn version_from_path(argv: &[String]) -> Option<String> {
    let script = argv.iter().find(|a| base(a) == "worker-service.cjs")?;
    let parts: Vec<&str> = script.split(['/', '\\']).collect();
    if let Some(i) = parts.iter().position(|p| *p == "claude-mem") {
        if let Some(v) = parts
            .get(i + 1)
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            return Some((*v).to_string());
        }
    }
    let scripts = Path::new(script).parent()?;
    let plugin = scripts.parent()?;
    [
        plugin.join("package.json"),
        plugin.parent()?.join("package.json"),
    ]
    .iter()
    .find_map(|p| crate::release::version_of(p))
}

/// What does not change while a process lives, read once per full scan: a worker's data dir
/// (its environment), path version and ports; an unattached helper's working dir and
/// `CLAUDE_MEM_DATA_DIR`.
#[derive(Debug, Default)]
pub(super) struct Cache {
    workers: HashMap<(Pid, StartToken), WorkerCached>,
    helpers: HashMap<(Pid, StartToken), HelperCached>,
}

/// An unattached helper's working dir, `CLAUDE_MEM_DATA_DIR` entries, and the data dir its
/// environment resolves to.
type HelperCached = (Option<PathBuf>, Vec<OsString>, Option<PathBuf>);

/// A worker's data dir and path version (read with the process table, before any port is
/// asked), and its listening ports once they were needed.
#[derive(Debug, Clone)]
struct WorkerCached {
    data_dir: Option<PathBuf>,
    path_version: Option<String>,
    ports: Option<Vec<u16>>,
}

impl Cache {
    /// A worker's entry: its environment and script path read now if not yet.
    fn worker(&mut self, info: &ProcInfo) -> &mut WorkerCached {
        self.workers
            .entry((info.pid, info.start))
            .or_insert_with(|| WorkerCached {
                data_dir: ownership::data_dir_of_env(
                    &platform::environ(info.pid),
                    ownership::runs_claude_mem(&info.cmdline),
                ),
                path_version: version_from_path(&info.cmdline),
                ports: None,
            })
    }
}

/// The census for a long-lived caller (the dashboard): the command line of a process that was
/// no candidate is not read again until the next full scan, so a census every few seconds costs
/// one directory listing plus the new PIDs. A PID reused by a new process is seen at the next
/// full scan at the latest.
#[derive(Debug, Default)]
pub struct Scanner {
    cache: Cache,
    not_ours: HashSet<Pid>,
    full_at: Option<std::time::Instant>,
}

impl Scanner {
    /// The facts of a census now.
    pub(super) fn gather(&mut self, cfg: &Config, scope: Scope, named: Option<Pid>) -> Facts {
        let candidates = self.candidates(cfg);
        let reference =
            crate::release::hooks_version(cfg).or_else(|| crate::release::installed_version(cfg));
        gather(
            cfg,
            scope,
            named,
            candidates,
            None,
            reference,
            &mut self.cache,
        )
    }

    /// The processes whose command line is a worker's or a helper's, with their details.
    fn candidates(&mut self, cfg: &Config) -> Vec<Candidate> {
        let me = std::process::id() as Pid;
        let pids = platform::pids();
        if self.full_at.is_none_or(|t| t.elapsed() >= FULL_SCAN) {
            self.not_ours.clear();
            self.cache = Cache::default();
            self.full_at = Some(std::time::Instant::now());
        } else {
            let live: HashSet<Pid> = pids.iter().copied().collect();
            self.not_ours.retain(|p| live.contains(p));
        }
        let todo: Vec<Pid> = pids
            .into_iter()
            .filter(|p| *p != me && !self.not_ours.contains(p))
            .collect();
        let mut shown = HashSet::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        for (pid, argv) in platform::command_lines_of(&todo) {
            shown.insert(pid);
            let worker = is_worker_argv(&argv, &cfg.worker);
            let kind = if worker { None } else { HelperKind::of(&argv) };
            if !worker && kind.is_none() {
                self.not_ours.insert(pid);
                continue;
            }
            let Some(info) = platform::proc_info(pid).filter(|i| !i.zombie) else {
                continue;
            };
            if worker {
                self.cache.worker(&info);
            }
            candidates.push(Candidate { info, kind });
        }
        // No command line to show (kernel threads): not ours either.
        self.not_ours
            .extend(todo.into_iter().filter(|p| !shown.contains(p)));
        candidates
    }
}

/// `/api/health` (version and PID), else `/health`, on `port`.
fn probe(host: IpAddr, port: u16, timeout: Duration) -> Heard {
    let heard = |answer, version, pid| Heard {
        answer,
        version,
        pid,
    };
    let p = health::get(host, port, "/api/health", timeout);
    let from_json = |r: &health::Response| {
        let v = r.json();
        let version = v.as_ref().and_then(|v| {
            v.get("version")?
                .as_str()
                .map(|s| s.chars().take(40).collect())
        });
        let pid = v
            .as_ref()
            .and_then(|v| v.get("pid")?.as_i64())
            .and_then(|p| Pid::try_from(p).ok());
        (version, pid)
    };
    match &p.result {
        Ok(r) if r.status == 200 => {
            let (version, pid) = from_json(r);
            return heard(Answer::Healthy, version, pid);
        }
        Err(health::ProbeError::ReadTimeout(_)) | Err(health::ProbeError::ConnectTimeout(_)) => {
            return heard(Answer::Wedged, None, None)
        }
        _ => {}
    }
    let h = health::get(host, port, "/health", timeout);
    match &h.result {
        Ok(r) if r.status == 200 => {
            let (_, pid) = from_json(r);
            heard(Answer::Healthy, None, pid)
        }
        Ok(r) => heard(Answer::Failing(r.status), None, None),
        Err(health::ProbeError::ReadTimeout(_)) | Err(health::ProbeError::ConnectTimeout(_)) => {
            heard(Answer::Wedged, None, None)
        }
        Err(e) => heard(Answer::Unreachable(e.to_string()), None, None),
    }
}

/// Where Claude Code (and Codex) keep this user's plugins: a `mcp-server.cjs` under one of
/// these is claude-mem's as Claude Code installed it.
fn plugin_roots(cfg: &Config) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(d).join("plugins"));
    }
    if let Some(h) = &cfg.home {
        roots.push(h.join(".claude").join("plugins"));
        roots.push(h.join(".codex").join("plugins"));
    }
    roots
}

/// The absolute path arguments (`X`, or the value of `--opt=X`), each as the OS resolves it.
pub(super) fn path_args(argv: &[String]) -> Vec<PathArg> {
    argv.iter()
        .skip(1)
        .filter_map(|a| {
            let value = a.split_once('=').map_or(a.as_str(), |(_, v)| v);
            let p = Path::new(value);
            p.is_absolute().then(|| PathArg {
                text: a.clone(),
                resolved: norm(p),
            })
        })
        .collect()
}

/// The `mcp-server.cjs` argument, when it is an absolute path, and as the OS resolves it.
fn mcp_script(argv: &[String]) -> Option<PathArg> {
    let script = argv.iter().find(|a| base(a) == "mcp-server.cjs")?;
    let p = Path::new(script);
    p.is_absolute().then(|| PathArg {
        text: script.clone(),
        resolved: norm(p),
    })
}

/// Where an unattached helper points (its working dir and environment read once per process
/// life; its path arguments resolved now).
fn place(info: &ProcInfo, kind: HelperKind, cache: &mut Cache) -> Place {
    let (cwd, env, env_dir) = cache
        .helpers
        .entry((info.pid, info.start))
        .or_insert_with(|| {
            let full = platform::environ(info.pid);
            let env_dir = ownership::data_dir_of_env(&full, true);
            // Only what a tie needs of the environment.
            let env: Vec<OsString> = full
                .into_iter()
                .filter(|e| {
                    e.to_str()
                        .is_some_and(|s| s.starts_with("CLAUDE_MEM_DATA_DIR="))
                })
                .collect();
            (platform::cwd(info.pid).map(|p| norm(&p)), env, env_dir)
        })
        .clone();
    Place {
        cwd,
        args: path_args(&info.cmdline),
        env_dirs: env
            .iter()
            .filter_map(|e| e.to_str()?.strip_prefix("CLAUDE_MEM_DATA_DIR="))
            .map(|v| norm(Path::new(v)))
            .collect(),
        env_dir,
        script: if kind == HelperKind::McpServer {
            mcp_script(&info.cmdline)
        } else {
            None
        },
    }
}

/// Read what the rules need of these candidates. `heard` is what the configured port already
/// said (a status read's), so it is not asked again; `reference` the installed plugin's
/// version, which workers of another version are told by.
pub(super) fn gather(
    cfg: &Config,
    scope: Scope,
    named: Option<Pid>,
    candidates: Vec<Candidate>,
    heard: Option<Heard>,
    reference: Option<String>,
    cache: &mut Cache,
) -> Facts {
    let me = platform::current_uid();
    let proc = |info: ProcInfo| Proc {
        user: ownership::user_of(info.owner, me),
        info,
    };
    let mut host = Host {
        scope,
        here: norm(&cfg.data_dir),
        port: cfg.port,
        me,
        now: SystemTime::now(),
        reference,
        named,
        plugin_roots: Vec::new(),
    };

    // The configured port first (what a status read just saw there, when it did not answer): a
    // worker that reports its own PID there needs no read of the socket table.
    let on_port = candidates
        .iter()
        .any(|c| c.kind.is_none())
        .then(|| heard.unwrap_or_else(|| probe(cfg.host, cfg.port, PROBE_TIMEOUT)));
    let port_pid = on_port.as_ref().and_then(|h| h.pid);

    let (worker_candidates, helper_candidates): (Vec<Candidate>, Vec<Candidate>) =
        candidates.into_iter().partition(|c| c.kind.is_none());

    // Workers: data dir and path version (read with the table), and the ports where the rules
    // need them, once per process life.
    let mut workers: Vec<WorkerFacts> = worker_candidates
        .into_iter()
        .map(|c| {
            let cached = cache.worker(&c.info);
            let mut w = WorkerFacts {
                proc: proc(c.info),
                data_dir: cached.data_dir.clone(),
                ports: Vec::new(),
                path_version: cached.path_version.clone(),
                heard: None,
                descendants: Vec::new(),
            };
            let pid = w.proc.info.pid;
            if let Some(ports) = &cached.ports {
                w.ports = ports.clone();
            } else if port_pid == Some(pid) {
                w.ports = vec![cfg.port];
                cached.ports = Some(w.ports.clone());
            } else if classify::ports_read(&w, &host, port_pid) {
                w.ports = platform::listening_ports(pid);
                cached.ports = Some(w.ports.clone());
            }
            w
        })
        .collect();

    // What their ports say, where the rules ask (the configured port's answer is known; other
    // ports are probed in parallel, so wedged ones cost one timeout in all).
    let ask = |w: &WorkerFacts| {
        if !classify::asked(w, &host) {
            return None;
        }
        let port = w
            .ports
            .iter()
            .copied()
            .find(|p| *p == cfg.port)
            .or(w.ports.first().copied());
        match &on_port {
            Some(known) if port == Some(cfg.port) => Some(known.clone()),
            _ => port.map(|p| probe(cfg.host, p, PROBE_TIMEOUT)),
        }
    };
    let elsewhere = workers
        .iter()
        .filter(|w| {
            !w.ports.contains(&cfg.port) && !w.ports.is_empty() && classify::asked(w, &host)
        })
        .count();
    let answers: Vec<Option<Heard>> = if elsewhere <= 1 {
        workers.iter().map(ask).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = workers.iter().map(|w| s.spawn(move || ask(w))).collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        })
    };
    for (w, a) in workers.iter_mut().zip(answers) {
        w.heard = a;
    }

    // Helpers: the parent links up to a live worker; where none is above, what it points at.
    let worker_pids: HashSet<Pid> = workers.iter().map(|w| w.proc.info.pid).collect();
    let mut links: HashMap<Pid, Option<Link>> = HashMap::new();
    let helpers: Vec<HelperFacts> = helper_candidates
        .into_iter()
        .filter_map(|c| {
            let kind = c.kind?;
            let ancestor = classify::live_worker_ancestor(
                &c.info,
                |p| worker_pids.contains(&p),
                |p| {
                    links
                        .entry(p)
                        .or_insert_with(|| {
                            platform::proc_info(p).filter(|i| !i.zombie).map(|i| Link {
                                ppid: i.ppid,
                                start: i.start,
                                cmdline: i.cmdline,
                            })
                        })
                        .as_ref()
                        .map(|l| (l.ppid, l.start))
                },
            );
            let place = ancestor.is_none().then(|| place(&c.info, kind, cache));
            Some(HelperFacts {
                proc: proc(c.info),
                kind,
                place,
            })
        })
        .collect();
    if helpers
        .iter()
        .any(|h| h.place.as_ref().is_some_and(|p| p.script.is_some()))
    {
        host.plugin_roots = plugin_roots(cfg)
            .into_iter()
            .map(|r| {
                let resolved = norm(&r);
                (r, resolved)
            })
            .collect();
    }

    // Every other descendant of this data dir's workers (a helper's details are known already).
    let helper_at: HashMap<Pid, usize> = helpers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.proc.info.pid, i))
        .collect();
    for w in workers.iter_mut() {
        if !classify::lists_descendants(w, &host) {
            continue;
        }
        let root = w.proc.info.pid;
        for pid in platform::descendants(root) {
            if pid == root || worker_pids.contains(&pid) {
                continue;
            }
            let d = match helper_at.get(&pid) {
                Some(i) => Some(helpers[*i].proc.clone()),
                None => platform::proc_info(pid).filter(|i| !i.zombie).map(proc),
            };
            w.descendants.extend(d);
        }
    }

    host.now = SystemTime::now();
    Facts {
        host,
        workers,
        helpers,
        links: links
            .into_iter()
            .filter_map(|(pid, l)| Some((pid, l?)))
            .collect(),
    }
}
