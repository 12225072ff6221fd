//! The census's rules, with no I/O: [`classify`] makes the [`Census`] of what `gather.rs` read
//! ([`Facts`]). Nothing here asks the platform layer, the filesystem, the network or the clock;
//! paths arrive resolved, the clock's reading arrives in [`Host::now`].
//!
//! The rules, in order:
//! - whose a worker is (`ownership::decide`), then its class ([`worker_class`]): another user's
//!   or another data dir's worker is never this data dir's, on its port or not;
//! - a helper is claude-mem's only with a tie: it descends from a live worker (each parent
//!   started no later than its child), or its working dir, an argument or its environment points
//!   into a data dir, or it is Claude Code's MCP server or launcher of this user's plugin dirs;
//! - a tied helper with no live worker above it is orphaned; Claude Code's MCP pair only once its
//!   session is gone (the launcher reparented, the server's launcher gone or reparented);
//! - every other descendant of this data dir's workers is listed under it as a plain child;
//! - in a data dir's census, only its processes stay, and whatever worker holds its port.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{base, files, Answer, Census, Class, Heard, HelperKind, Member, Scope, Tie};
use crate::platform::{Pid, ProcInfo, StartToken};
use crate::procman::ownership::{self, Owner};

/// Everything a census is decided from.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub(super) host: Host,
    /// The processes whose command line is a worker's, in the order of the scan.
    pub(super) workers: Vec<WorkerFacts>,
    /// The processes whose command line is a helper's, in the order of the scan.
    pub(super) helpers: Vec<HelperFacts>,
    /// The live processes the rules follow parent links through (a helper's ancestors up to a
    /// worker, which include every helper's parent). A PID not here is gone.
    pub(super) links: HashMap<Pid, Link>,
}

/// The request, this user and this machine.
#[derive(Debug, Clone)]
pub(super) struct Host {
    pub(super) scope: Scope,
    /// This data dir, as the OS resolves it.
    pub(super) here: PathBuf,
    /// The configured port.
    pub(super) port: u16,
    /// This user (`None` where the OS has no numeric uids).
    pub(super) me: Option<u32>,
    /// The moment of the census (ages and average CPU are of it).
    pub(super) now: SystemTime,
    /// The installed plugin's version (the hooks' script's, else the marketplace's).
    pub(super) reference: Option<String>,
    /// The PID the data dir's PID file proves.
    pub(super) named: Option<Pid>,
    /// This user's plugin dirs, as written and as the OS resolves them (read only when a
    /// helper's `mcp-server.cjs` is to be compared with them).
    pub(super) plugin_roots: Vec<(PathBuf, PathBuf)>,
}

/// One process as the census saw it.
#[derive(Debug, Clone)]
pub(super) struct Proc {
    pub(super) info: ProcInfo,
    /// Its owner's login name, when that is not this user.
    pub(super) user: Option<String>,
}

/// A process whose command line is a worker's.
#[derive(Debug, Clone)]
pub(super) struct WorkerFacts {
    pub(super) proc: Proc,
    /// The data dir its environment resolves to (`None`: unread).
    pub(super) data_dir: Option<PathBuf>,
    /// The ports it listens on.
    pub(super) ports: Vec<u16>,
    /// The version in its script's path.
    pub(super) path_version: Option<String>,
    /// What its port said; `None` when it was not asked ([`asked`]) or listens on no port.
    pub(super) heard: Option<Heard>,
    /// Its live descendants other than workers, where [`lists_descendants`] (else empty).
    pub(super) descendants: Vec<Proc>,
}

/// A process whose command line is a helper's.
#[derive(Debug, Clone)]
pub(super) struct HelperFacts {
    pub(super) proc: Proc,
    pub(super) kind: HelperKind,
    /// Where it points; read only when no live worker is above it.
    pub(super) place: Option<Place>,
}

/// What an unattached helper's ties are looked for in.
#[derive(Debug, Clone, Default)]
pub(super) struct Place {
    /// Its working dir, resolved.
    pub(super) cwd: Option<PathBuf>,
    /// Its absolute path arguments.
    pub(super) args: Vec<PathArg>,
    /// The `CLAUDE_MEM_DATA_DIR` values of its environment, resolved.
    pub(super) env_dirs: Vec<PathBuf>,
    /// The data dir its environment resolves to, as claude-mem's resolver would.
    pub(super) env_dir: Option<PathBuf>,
    /// An MCP server's `mcp-server.cjs` argument, when absolute.
    pub(super) script: Option<PathArg>,
}

/// An argument as written, and the path it names as the OS resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathArg {
    pub(super) text: String,
    pub(super) resolved: PathBuf,
}

/// One link of the process table: a live process's parent, start and command line.
#[derive(Debug, Clone)]
pub(super) struct Link {
    pub(super) ppid: Pid,
    pub(super) start: StartToken,
    pub(super) cmdline: Vec<String>,
}

/// Whose worker this is.
fn owner(w: &WorkerFacts, host: &Host) -> Owner {
    ownership::decide(
        &ownership::Facts {
            uid: w.proc.info.owner,
            user: w.proc.user.clone(),
            data_dir: w.data_dir.clone(),
        },
        &host.here,
        host.me,
    )
}

/// A worker counts as this data dir's: ours, or unread but on its port.
fn is_mine(owner: &Owner, on_port: bool) -> bool {
    match owner {
        Owner::Ours => true,
        Owner::Unread => on_port,
        _ => false,
    }
}

/// Is this worker's port asked? In this data dir's census another data dir's or user's worker
/// is not asked anything (it is dropped unless it holds the configured port, whose answer is
/// known): its facts come from the process table, and a status read never waits on a foreign
/// worker.
pub(super) fn asked(w: &WorkerFacts, host: &Host) -> bool {
    host.scope == Scope::All || w.ports.contains(&host.port) || owner(w, host).is_ours()
}

/// Are this worker's listening ports read (its open sockets, and the kernel's table of
/// listeners)? Not those of another data dir's or user's worker in this data dir's census once
/// the configured port's holder is known (`port_pid`, what it reported of itself): such a
/// worker is dropped unless it holds that port, and whether it does is known already.
pub(super) fn ports_read(w: &WorkerFacts, host: &Host, port_pid: Option<Pid>) -> bool {
    host.scope == Scope::All || port_pid.is_none() || owner(w, host) == Owner::Ours
}

/// Are this worker's descendants listed (as plain children)? Only a worker of this data dir's:
/// exactly those whose class is neither `other-data-dir` nor `other-user`.
pub(super) fn lists_descendants(w: &WorkerFacts, host: &Host) -> bool {
    is_mine(&owner(w, host), w.ports.contains(&host.port))
}

/// What the class of a worker is decided from.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClassFacts<'a> {
    pub(super) owner: &'a Owner,
    /// It listens on the configured port.
    pub(super) on_port: bool,
    /// Its port accepts and never answers.
    pub(super) wedged: bool,
    /// Its version is not the installed plugin's (or the named worker's).
    pub(super) other_version: bool,
    /// The data dir's PID file proves it.
    pub(super) named: bool,
    /// The one this data dir counts (named, else on the configured port).
    pub(super) primary: bool,
}

/// The class rule. Whose it is comes first: on this data dir's port or not, another user's or
/// another data dir's worker is never this data dir's (a port can be shared, a PID file copied);
/// a worker whose environment cannot be read counts as this data dir's only on its port.
pub(super) fn worker_class(f: &ClassFacts) -> Class {
    let mine = is_mine(f.owner, f.on_port);
    if matches!(f.owner, Owner::OtherUser { .. }) {
        Class::OtherUser
    } else if f.wedged && mine {
        Class::Wedged
    } else if !mine {
        Class::Foreign
    } else if f.other_version {
        Class::OtherVersion
    } else if f.named {
        Class::Worker
    } else if f.primary {
        Class::Unmanaged
    } else {
        Class::Duplicate
    }
}

/// The nearest live worker above `info`, following parent links (`link`: a live PID's parent
/// and start) only where each parent started no later than its child (a reused parent PID is
/// not a parent). `gather.rs` walks with a `link` that reads the process table, this file with
/// one that reads what it read.
pub(super) fn live_worker_ancestor(
    info: &ProcInfo,
    is_worker: impl Fn(Pid) -> bool,
    mut link: impl FnMut(Pid) -> Option<(Pid, StartToken)>,
) -> Option<Pid> {
    let mut pid = info.ppid;
    let mut child_start = info.start;
    for _ in 0..64 {
        if pid <= 1 {
            return None;
        }
        let (ppid, start) = link(pid)?;
        if start > child_start {
            return None;
        }
        if is_worker(pid) {
            return Some(pid);
        }
        child_start = start;
        pid = ppid;
    }
    None
}

/// The session that started a process is gone: it was reparented to init (or to a user
/// service manager acting as subreaper), or its parent is gone.
fn reparented(ppid: Pid, links: &HashMap<Pid, Link>) -> bool {
    if ppid <= 1 {
        return true;
    }
    match links.get(&ppid) {
        None => true,
        Some(p) => p.cmdline.first().is_some_and(|a| {
            ["init", "launchd", "tini", "dumb-init"].contains(&base(a))
                || (base(a) == "systemd" && p.cmdline.iter().any(|x| x == "--user"))
        }),
    }
}

fn inside(path: &Path, dir: &Path) -> bool {
    path == dir || path.starts_with(dir)
}

/// A path argument inside `dir`, as written.
pub(super) fn arg_inside(args: &[PathArg], dir: &Path) -> Option<String> {
    args.iter()
        .find(|a| inside(&a.resolved, dir))
        .map(|a| a.text.clone())
}

/// The `mcp-server.cjs` argument under one of `roots` (as written, or as the OS resolves both).
fn plugin_script(script: Option<&PathArg>, roots: &[(PathBuf, PathBuf)]) -> Option<String> {
    let script = script?;
    let p = Path::new(&script.text);
    roots
        .iter()
        .any(|(r, resolved)| p.starts_with(r) || script.resolved.starts_with(resolved))
        .then(|| script.text.clone())
}

/// The data dir an unattached helper is tied to, and why; `None` when only its name speaks
/// for it. `dirs` are the data dirs known (this one first, then the workers').
fn tie_of(
    place: &Place,
    proc: &Proc,
    kind: HelperKind,
    dirs: &[PathBuf],
    host: &Host,
) -> Option<(PathBuf, Tie)> {
    let found = dirs.iter().find_map(|d| {
        if let Some(cwd) = place.cwd.as_ref().filter(|p| inside(p, d)) {
            return Some((d.clone(), Tie::WorkingDir(cwd.display().to_string())));
        }
        if let Some(a) = arg_inside(&place.args, d) {
            return Some((d.clone(), Tie::Argument(a)));
        }
        place
            .env_dirs
            .iter()
            .any(|e| e == d)
            .then(|| (d.clone(), Tie::Environment))
    });
    // Claude Code's MCP server and its launcher carry no claude-mem variable and run in the
    // user's project: their tie is the plugin's own script or launcher, this user's, and the
    // data dir their environment resolves to.
    found.or_else(|| {
        let mine = proc.info.owner.is_none() || proc.info.owner == host.me;
        let tie = match kind {
            HelperKind::McpServer => {
                plugin_script(place.script.as_ref(), &host.plugin_roots).map(Tie::PluginScript)
            }
            HelperKind::McpLauncher => Some(Tie::PluginLauncher),
            _ => None,
        }
        .filter(|_| mine)?;
        Some((place.env_dir.clone()?, tie))
    })
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

fn member(p: &Proc, class: Class, kind: Option<HelperKind>, now: SystemTime) -> Member {
    let info = &p.info;
    let age = info.started.and_then(|t| now.duration_since(t).ok());
    let cpu_percent = match age {
        Some(a) if a.as_secs_f64() > 0.0 => {
            ((info.cpu.as_secs_f64() / a.as_secs_f64()) * 1000.0).round() / 10.0
        }
        _ => 0.0,
    };
    Member {
        pid: info.pid,
        ppid: info.ppid,
        class,
        kind,
        version: None,
        data_dir: None,
        ports: Vec::new(),
        started_at: info
            .started
            .map(|t| files::iso(chrono::DateTime::<chrono::Utc>::from(t))),
        age_seconds: age.map(|a| a.as_secs()),
        owner: info.owner,
        user: p.user.clone(),
        cpu_percent,
        cpu_seconds: seconds(info.cpu),
        rss_bytes: info.rss_bytes,
        command: info.command(),
        worker: None,
        tie: None,
        helpers: 0,
        answer: None,
        start: info.start,
    }
}

/// The census of these facts.
pub(super) fn classify(f: &Facts) -> Census {
    let host = &f.host;

    // Workers: data dir, ports, and what their port said.
    let mut workers: Vec<Member> = f
        .workers
        .iter()
        .map(|w| {
            let mut m = member(&w.proc, Class::Worker, None, host.now);
            m.data_dir = w.data_dir.clone();
            m.ports = w.ports.clone();
            m.version = w.path_version.clone();
            match &w.heard {
                Some(h) => {
                    if h.version.is_some() {
                        m.version = h.version.clone();
                    }
                    m.answer = Some(h.answer.clone());
                }
                None => m.answer = Some(Answer::NoPort),
            }
            m
        })
        .collect();
    let named_version = host
        .named
        .and_then(|n| workers.iter().find(|w| w.pid == n))
        .and_then(|w| w.version.clone());
    let reference = host.reference.clone().or(named_version);
    // Which worker of this data dir counts as the one (the named one, else the one on the
    // configured port): the others are duplicates.
    let primary = host
        .named
        .filter(|n| workers.iter().any(|w| w.pid == *n))
        .or_else(|| {
            workers
                .iter()
                .filter(|w| w.ports.contains(&host.port))
                .map(|w| w.pid)
                .next()
        });
    for (w, facts) in workers.iter_mut().zip(&f.workers) {
        w.class = worker_class(&ClassFacts {
            owner: &owner(facts, host),
            on_port: w.ports.contains(&host.port),
            wedged: w.answer == Some(Answer::Wedged),
            other_version: matches!((&w.version, &reference), (Some(v), Some(r)) if v != r),
            named: Some(w.pid) == host.named,
            primary: Some(w.pid) == primary,
        });
    }

    // Helpers: tie each to a worker (by descent) or to a data dir.
    let worker_pids: HashMap<Pid, usize> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.pid, i))
        .collect();
    let mut dirs: Vec<PathBuf> = vec![host.here.clone()];
    for w in &workers {
        if let Some(d) = &w.data_dir {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
    }
    let mut helpers = Vec::new();
    for h in &f.helpers {
        let mut m = member(&h.proc, Class::Helper, Some(h.kind), host.now);
        let ancestor = live_worker_ancestor(
            &h.proc.info,
            |p| worker_pids.contains_key(&p),
            |p| f.links.get(&p).map(|l| (l.ppid, l.start)),
        );
        if let Some(w) = ancestor.and_then(|p| worker_pids.get(&p).map(|i| &workers[*i])) {
            m.worker = Some(w.pid);
            m.tie = Some(Tie::Descendant(w.pid));
            m.data_dir = w.data_dir.clone();
        } else {
            // A name alone is never proof.
            let Some((dir, tie)) = h
                .place
                .as_ref()
                .and_then(|place| tie_of(place, &h.proc, h.kind, &dirs, host))
            else {
                continue;
            };
            m.data_dir = Some(dir);
            m.tie = Some(tie);
            // Claude Code's MCP pair belongs to a running session until that session is gone
            // (the launcher reparented; the server's launcher gone or itself reparented).
            let session_gone = |info: &ProcInfo| {
                reparented(info.ppid, &f.links)
                    || f.helpers.iter().any(|p| {
                        p.proc.info.pid == info.ppid
                            && p.kind == HelperKind::McpLauncher
                            && reparented(p.proc.info.ppid, &f.links)
                    })
            };
            m.class = if matches!(h.kind, HelperKind::McpServer | HelperKind::McpLauncher)
                && !session_gone(&h.proc.info)
            {
                Class::Helper
            } else {
                Class::OrphanedHelper
            };
        }
        helpers.push(m);
    }

    // Every other descendant of this data dir's workers (a `sh -c which claude` the worker runs
    // at boot, a child of its own): listed under the worker as a plain child, never a name.
    let listed: HashSet<Pid> = helpers.iter().map(|h| h.pid).collect();
    for (w, facts) in workers.iter().zip(&f.workers) {
        if matches!(w.class, Class::Foreign | Class::OtherUser) {
            continue;
        }
        for d in &facts.descendants {
            let pid = d.info.pid;
            if pid == w.pid || listed.contains(&pid) || worker_pids.contains_key(&pid) {
                continue;
            }
            let mut m = member(d, Class::Helper, None, host.now);
            m.worker = Some(w.pid);
            m.tie = Some(Tie::Descendant(w.pid));
            m.data_dir = w.data_dir.clone();
            helpers.push(m);
        }
    }
    for h in &helpers {
        if let Some(i) = h.worker.and_then(|w| worker_pids.get(&w)) {
            workers[*i].helpers += 1;
        }
    }

    let mut members = workers;
    members.extend(helpers);
    if host.scope == Scope::DataDir {
        // This data dir's processes, and any worker on its port; workers of other data dirs go.
        members.retain(|m| {
            m.data_dir.as_deref() == Some(host.here.as_path())
                || (m.class.is_worker() && m.ports.contains(&host.port))
        });
    }
    members.sort_by_key(|m| {
        (
            !m.class.is_worker(),
            m.worker.unwrap_or(m.pid),
            m.kind.is_some(),
            m.pid,
        )
    });
    Census { members }
}
