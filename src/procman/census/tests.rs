//! The census's rules as tables of facts (no process spawned, nothing read), and the shapes of
//! command lines.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::classify::{
    arg_inside, asked, classify, lists_descendants, worker_class, ClassFacts, Facts, HelperFacts,
    Host, Link, PathArg, Place, Proc, WorkerFacts,
};
use super::gather::path_args;
use super::*;
use crate::platform::{ProcInfo, StartToken};
use crate::procman::ownership::{self, norm};

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

#[test]
fn helper_kinds_by_shape() {
    assert_eq!(
        HelperKind::of(&v(&[
            "claude",
            "--output-format",
            "stream-json",
            "--verbose"
        ])),
        Some(HelperKind::Claude)
    );
    assert_eq!(
        HelperKind::of(&v(&[
            "/home/u/.local/bin/uvx",
            "chroma-mcp",
            "--client-type",
            "persistent"
        ])),
        Some(HelperKind::Chroma)
    );
    assert_eq!(
        HelperKind::of(&v(&["bun", "/x/plugin/scripts/mcp-server.cjs"])),
        Some(HelperKind::McpServer)
    );
    assert_eq!(HelperKind::of(&v(&["claude", "--print"])), None);
    assert_eq!(HelperKind::of(&v(&["chroma-mcp-fork"])), None);
}

#[test]
fn workers_not_hooks() {
    let cfg = WorkerCmd::parse("/nonexistent/w", "t").expect("cmd");
    let script = "/h/.claude/plugins/cache/thedotmack/claude-mem/12.4.7/scripts/worker-service.cjs";
    assert!(is_worker_argv(&v(&["bun", script, "--daemon"]), &cfg));
    assert!(is_worker_argv(&v(&["bun", script]), &cfg));
    assert!(!is_worker_argv(
        &v(&["bun", script, "hook", "claude-code", "context"]),
        &cfg
    ));
    assert!(!is_worker_argv(
        &v(&["node", "bun-runner.js", script, "start"]),
        &cfg
    ));
    assert_eq!(
        version_from_path(&v(&["bun", script])).as_deref(),
        Some("12.4.7")
    );
    assert!(!is_worker_argv(&v(&["sleep", "1"]), &cfg));
}

#[test]
fn the_worker_class_rule_as_a_table() {
    use ownership::Owner;
    let ours = Owner::Ours;
    let unread = Owner::Unread;
    let other_dir = Owner::OtherDataDir {
        data_dir: "/a".into(),
    };
    let other_user = Owner::OtherUser {
        uid: 0,
        user: Some("root".into()),
        data_dir: None,
    };
    // (owner, on_port, wedged, other_version, named, primary) → class
    let table: [(&Owner, [bool; 5], Class); 12] = [
        (&ours, [true, false, false, true, true], Class::Worker),
        (&ours, [true, false, false, false, true], Class::Unmanaged),
        (&ours, [false, false, false, false, false], Class::Duplicate),
        (&ours, [true, true, false, true, true], Class::Wedged),
        (&ours, [true, false, true, true, true], Class::OtherVersion),
        (&unread, [true, false, false, false, true], Class::Unmanaged),
        (&unread, [false, false, false, false, false], Class::Foreign),
        // A copied PID file or a shared port never makes another's worker ours.
        (&other_dir, [true, false, false, true, true], Class::Foreign),
        (&other_dir, [true, true, false, false, true], Class::Foreign),
        (
            &other_user,
            [true, false, false, true, true],
            Class::OtherUser,
        ),
        (
            &other_user,
            [true, true, true, false, false],
            Class::OtherUser,
        ),
        (
            &other_user,
            [false, false, false, false, false],
            Class::OtherUser,
        ),
    ];
    for (owner, [on_port, wedged, other_version, named, primary], want) in table {
        let f = ClassFacts {
            owner,
            on_port,
            wedged,
            other_version,
            named,
            primary,
        };
        assert_eq!(worker_class(&f), want, "{f:?}");
    }
}

#[test]
fn one_name_per_class_and_kind_in_text_and_json() {
    for c in Class::WORKERS
        .into_iter()
        .chain([Class::Helper, Class::OrphanedHelper])
    {
        assert_eq!(serde_json::to_value(c).ok(), Some(c.label().into()));
    }
    for k in HelperKind::ALL {
        assert_eq!(serde_json::to_value(k).ok(), Some(k.label().into()));
    }
}

#[test]
fn path_arguments_inside_a_dir() {
    let dir = std::env::temp_dir();
    let dir = norm(&dir);
    let inner = dir.join("vector-db").display().to_string();
    let inside = |argv: &[&str]| arg_inside(&path_args(&v(argv)), &dir);
    assert_eq!(
        inside(&["chroma-mcp", "--data-dir", &inner]),
        Some(inner.clone())
    );
    let eq = format!("--data-dir={inner}");
    assert_eq!(inside(&["chroma-mcp", &eq]), Some(eq.clone()));
    assert_eq!(inside(&["chroma-mcp", "--data-dir", "relative"]), None);
}

// ---- The rules as tables of facts ----------------------------------------------------------

const HERE: &str = "/h/.claude-mem";
const OTHER: &str = "/a/.claude-mem";
const PORT: u16 = 40123;
const ME: u32 = 1000;
const WORKER_ARGV: &[&str] = &[
    "bun",
    "/h/.claude/plugins/cache/thedotmack/claude-mem/12.4.7/scripts/worker-service.cjs",
    "--daemon",
];
const SCRIPT: &str = "/h/.claude/plugins/cache/thedotmack/claude-mem/12.4.7/scripts/mcp-server.cjs";
const LAUNCHER: &[&str] = &[
    "node",
    "-e",
    "const p=require('path');/* thedotmack */ require(p.join(d,'scripts/mcp-server.cjs'))",
];

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A process of this user's, started `start` ticks after boot.
fn proc(pid: Pid, ppid: Pid, start: u64, argv: &[&str]) -> Proc {
    let mut info = ProcInfo::described(pid, argv);
    info.ppid = ppid;
    info.start = StartToken::from_raw(start);
    info.owner = Some(ME);
    Proc { info, user: None }
}

fn host(scope: Scope, named: Option<Pid>) -> Host {
    Host {
        scope,
        here: HERE.into(),
        port: PORT,
        me: Some(ME),
        now: now(),
        reference: Some("12.4.7".into()),
        named,
        plugin_roots: vec![("/h/.claude/plugins".into(), "/h/.claude/plugins".into())],
    }
}

fn heard(answer: Answer, version: Option<&str>) -> Option<Heard> {
    Some(Heard {
        answer,
        version: version.map(str::to_string),
        pid: None,
    })
}

/// A worker of this user's started at tick 10, whose environment resolves to `dir`.
fn worker(pid: Pid, dir: Option<&str>, ports: &[u16], heard: Option<Heard>) -> WorkerFacts {
    WorkerFacts {
        proc: proc(pid, 1, 10, WORKER_ARGV),
        data_dir: dir.map(PathBuf::from),
        ports: ports.to_vec(),
        path_version: Some("12.4.7".into()),
        heard,
        descendants: Vec::new(),
    }
}

fn helper(p: Proc, kind: HelperKind, place: Option<Place>) -> HelperFacts {
    HelperFacts {
        proc: p,
        kind,
        place,
    }
}

fn link(ppid: Pid, start: u64, argv: &[&str]) -> Link {
    Link {
        ppid,
        start: StartToken::from_raw(start),
        cmdline: v(argv),
    }
}

/// The facts, with a link for every worker (as `gather` reads one walking up to it).
fn facts(host: Host, workers: Vec<WorkerFacts>, helpers: Vec<HelperFacts>) -> Facts {
    let links = workers
        .iter()
        .map(|w| {
            let i = &w.proc.info;
            (
                i.pid,
                Link {
                    ppid: i.ppid,
                    start: i.start,
                    cmdline: i.cmdline.clone(),
                },
            )
        })
        .collect();
    Facts {
        host,
        workers,
        helpers,
        links,
    }
}

fn other_user(mut w: WorkerFacts) -> WorkerFacts {
    w.proc.info.owner = Some(0);
    w.proc.user = Some("root".into());
    w
}

#[test]
fn every_worker_class_from_facts() {
    let ok = || heard(Answer::Healthy, None);
    // (what, scope, named, workers, each worker's class or `None` when not in the census)
    type Row = (
        &'static str,
        Scope,
        Option<Pid>,
        Vec<WorkerFacts>,
        Vec<Option<Class>>,
    );
    let rows: Vec<Row> = vec![
        (
            "named by the PID file",
            Scope::DataDir,
            Some(100),
            vec![worker(100, Some(HERE), &[PORT], ok())],
            vec![Some(Class::Worker)],
        ),
        (
            "on the port, no PID file",
            Scope::DataDir,
            None,
            vec![worker(100, Some(HERE), &[PORT], ok())],
            vec![Some(Class::Unmanaged)],
        ),
        (
            "accepts and never answers",
            Scope::DataDir,
            Some(100),
            vec![worker(
                100,
                Some(HERE),
                &[PORT],
                heard(Answer::Wedged, None),
            )],
            vec![Some(Class::Wedged)],
        ),
        (
            "another version (it says so itself)",
            Scope::DataDir,
            Some(100),
            vec![worker(
                100,
                Some(HERE),
                &[PORT],
                heard(Answer::Healthy, Some("13.0.0")),
            )],
            vec![Some(Class::OtherVersion)],
        ),
        (
            "a second worker of this data dir",
            Scope::DataDir,
            Some(100),
            vec![
                worker(100, Some(HERE), &[PORT], ok()),
                worker(101, Some(HERE), &[40999], ok()),
            ],
            vec![Some(Class::Worker), Some(Class::Duplicate)],
        ),
        (
            "no PID file: the one on the port counts, the other is a duplicate",
            Scope::DataDir,
            None,
            vec![
                worker(101, Some(HERE), &[40999], ok()),
                worker(100, Some(HERE), &[PORT], ok()),
            ],
            vec![Some(Class::Duplicate), Some(Class::Unmanaged)],
        ),
        (
            "another data dir's on this port (a copied PID file names it)",
            Scope::DataDir,
            Some(100),
            vec![worker(100, Some(OTHER), &[PORT], ok())],
            vec![Some(Class::Foreign)],
        ),
        (
            "another data dir's elsewhere: not in this data dir's census",
            Scope::DataDir,
            None,
            vec![worker(100, Some(OTHER), &[40999], None)],
            vec![None],
        ),
        (
            "another data dir's elsewhere, with --all",
            Scope::All,
            None,
            vec![worker(100, Some(OTHER), &[40999], ok())],
            vec![Some(Class::Foreign)],
        ),
        (
            "another user's on this port (a shared port)",
            Scope::DataDir,
            Some(100),
            vec![other_user(worker(100, Some(HERE), &[PORT], ok()))],
            vec![Some(Class::OtherUser)],
        ),
        (
            "another user's, wedged, is still another user's",
            Scope::DataDir,
            None,
            vec![other_user(worker(
                100,
                None,
                &[PORT],
                heard(Answer::Wedged, None),
            ))],
            vec![Some(Class::OtherUser)],
        ),
        (
            "another user's elsewhere: not in this data dir's census",
            Scope::DataDir,
            None,
            vec![other_user(worker(
                100,
                Some("/root/.claude-mem"),
                &[40999],
                None,
            ))],
            vec![None],
        ),
        (
            "another user's for this very data dir, elsewhere: listed, never ours",
            Scope::DataDir,
            None,
            vec![other_user(worker(100, Some(HERE), &[40999], None))],
            vec![Some(Class::OtherUser)],
        ),
        (
            "environment unread, on the port",
            Scope::DataDir,
            None,
            vec![worker(100, None, &[PORT], ok())],
            vec![Some(Class::Unmanaged)],
        ),
        (
            "environment unread, elsewhere",
            Scope::All,
            None,
            vec![worker(100, None, &[40999], ok())],
            vec![Some(Class::Foreign)],
        ),
    ];
    for (what, scope, named, workers, want) in rows {
        let f = facts(host(scope, named), workers, Vec::new());
        let census = classify(&f);
        for (w, want) in f.workers.iter().zip(want) {
            let pid = w.proc.info.pid;
            let got = census.get(pid).map(|m| m.class);
            assert_eq!(got, want, "{what}: worker {pid}");
            // What gather reads is what the rules need: only this data dir's workers' children,
            // and in a data dir's census no foreign worker's port.
            let class = classify(&facts(host(Scope::All, named), vec![w.clone()], vec![]))
                .get(pid)
                .map(|m| m.class);
            assert_eq!(
                lists_descendants(w, &f.host),
                !matches!(class, Some(Class::Foreign | Class::OtherUser)),
                "{what}: worker {pid}"
            );
            if scope == Scope::DataDir && got.is_none() {
                assert!(!asked(w, &f.host), "{what}: worker {pid} asked");
            }
        }
    }
}

#[test]
fn what_a_worker_member_says() {
    let mut w = worker(
        100,
        Some(HERE),
        &[PORT],
        heard(Answer::Healthy, Some("12.4.8")),
    );
    w.proc.info.started = Some(now() - Duration::from_secs(100));
    w.proc.info.cpu = Duration::from_secs(10);
    let mut h = host(Scope::DataDir, Some(100));
    // With no installed plugin, the named worker's version is the reference.
    h.reference = None;
    let second = worker(101, Some(HERE), &[], None);
    let c = classify(&facts(h, vec![w, second], vec![]));
    let m = c.get(100).expect("the worker");
    assert_eq!(m.version.as_deref(), Some("12.4.8"), "its own answer first");
    assert_eq!(m.answer, Some(Answer::Healthy));
    assert_eq!(m.age_seconds, Some(100), "of the census's moment");
    assert_eq!(m.cpu_percent, 10.0);
    let d = c.get(101).expect("the second");
    assert_eq!(d.answer, Some(Answer::NoPort), "not asked: no answer");
    assert_eq!(
        d.class,
        Class::OtherVersion,
        "12.4.7 is not the named 12.4.8"
    );
    let root = classify(&facts(
        host(Scope::DataDir, None),
        vec![other_user(worker(100, Some(HERE), &[PORT], None))],
        vec![],
    ));
    assert_eq!(root.members[0].user.as_deref(), Some("root"));
}

/// What one helper row expects: its class, tie, worker and data dir, or `None` when it is not
/// claude-mem's (a name alone) or not this data dir's.
type Want = Option<(Class, Tie, Option<Pid>, &'static str)>;

fn place() -> Place {
    Place {
        env_dir: Some(HERE.into()),
        ..Place::default()
    }
}

/// [`place`] with an MCP script argument `text` that the OS resolves to `resolved`.
fn at_script(text: &str, resolved: &str) -> Option<Place> {
    Some(Place {
        script: Some(PathArg {
            text: text.into(),
            resolved: resolved.into(),
        }),
        ..place()
    })
}

#[test]
fn every_helper_kind_tie_and_orphan_from_facts() {
    let claude = &["claude", "--output-format", "stream-json"][..];
    let chroma = &["uvx", "chroma-mcp", "--client-type", "persistent"][..];
    let server = &["node", SCRIPT][..];
    let session = link(400, 1, &["claude"]);
    let user_manager = link(1, 1, &["/usr/lib/systemd/systemd", "--user"]);
    let cwd = format!("{HERE}/observer-sessions/7");
    let arg = format!("--data-dir={HERE}/vector-db");
    let descendant = |w| Some((Class::Helper, Tie::Descendant(w), Some(w), HERE));
    let orphan = |tie| Some((Class::OrphanedHelper, tie, None, HERE));
    let alive = |tie| Some((Class::Helper, tie, None, HERE));
    // (what, scope, helpers, links beyond the workers', what each helper is)
    type Row = (
        &'static str,
        Scope,
        Vec<HelperFacts>,
        Vec<(Pid, Link)>,
        Vec<Want>,
    );
    let rows: Vec<Row> = vec![
        (
            "the observer, the worker's child",
            Scope::DataDir,
            vec![helper(proc(300, 100, 20, claude), HelperKind::Claude, None)],
            vec![],
            vec![descendant(100)],
        ),
        (
            "chroma, the worker's grandchild through uv",
            Scope::DataDir,
            vec![helper(proc(302, 301, 30, chroma), HelperKind::Chroma, None)],
            vec![(301, link(100, 20, &["uv"]))],
            vec![descendant(100)],
        ),
        (
            "a parent that started after its child is a reused PID, not a parent",
            Scope::DataDir,
            vec![helper(
                proc(303, 100, 5, claude),
                HelperKind::Claude,
                Some(place()),
            )],
            vec![],
            vec![None],
        ),
        (
            "orphaned, in the data dir's observer sessions",
            Scope::DataDir,
            vec![helper(
                proc(304, 1, 20, claude),
                HelperKind::Claude,
                Some(Place {
                    cwd: Some(cwd.clone().into()),
                    ..place()
                }),
            )],
            vec![],
            vec![orphan(Tie::WorkingDir(cwd.clone()))],
        ),
        (
            "orphaned, an argument inside the data dir",
            Scope::DataDir,
            vec![helper(
                proc(305, 1, 20, chroma),
                HelperKind::Chroma,
                Some(Place {
                    args: vec![PathArg {
                        text: arg.clone(),
                        resolved: format!("{HERE}/vector-db").into(),
                    }],
                    ..place()
                }),
            )],
            vec![],
            vec![orphan(Tie::Argument(arg.clone()))],
        ),
        (
            "orphaned, CLAUDE_MEM_DATA_DIR in its environment",
            Scope::DataDir,
            vec![helper(
                proc(306, 1, 20, claude),
                HelperKind::Claude,
                Some(Place {
                    env_dirs: vec![HERE.into()],
                    ..place()
                }),
            )],
            vec![],
            vec![orphan(Tie::Environment)],
        ),
        (
            "a name alone is never proof",
            Scope::All,
            vec![
                helper(proc(307, 1, 20, claude), HelperKind::Claude, Some(place())),
                helper(proc(308, 1, 20, chroma), HelperKind::Chroma, Some(place())),
            ],
            vec![],
            vec![None, None],
        ),
        (
            "another data dir's orphan, with --all; its worker's child",
            Scope::All,
            vec![
                helper(
                    proc(309, 1, 20, claude),
                    HelperKind::Claude,
                    Some(Place {
                        cwd: Some(format!("{OTHER}/observer-sessions/1").into()),
                        ..place()
                    }),
                ),
                helper(proc(310, 200, 20, claude), HelperKind::Claude, None),
            ],
            vec![],
            vec![
                Some((
                    Class::OrphanedHelper,
                    Tie::WorkingDir(format!("{OTHER}/observer-sessions/1")),
                    None,
                    OTHER,
                )),
                Some((Class::Helper, Tie::Descendant(200), Some(200), OTHER)),
            ],
        ),
        (
            "another data dir's helpers are not in this data dir's census",
            Scope::DataDir,
            vec![
                helper(
                    proc(309, 1, 20, claude),
                    HelperKind::Claude,
                    Some(Place {
                        env_dirs: vec![OTHER.into()],
                        ..place()
                    }),
                ),
                helper(proc(310, 200, 20, claude), HelperKind::Claude, None),
            ],
            vec![],
            vec![None, None],
        ),
        (
            "Claude Code's MCP server of this user's plugin dir, its session alive",
            Scope::DataDir,
            vec![helper(
                proc(311, 500, 20, server),
                HelperKind::McpServer,
                at_script(SCRIPT, SCRIPT),
            )],
            vec![(500, session.clone())],
            vec![alive(Tie::PluginScript(SCRIPT.into()))],
        ),
        (
            "the MCP server reparented to init",
            Scope::DataDir,
            vec![helper(
                proc(312, 1, 20, server),
                HelperKind::McpServer,
                at_script(SCRIPT, SCRIPT),
            )],
            vec![],
            vec![orphan(Tie::PluginScript(SCRIPT.into()))],
        ),
        (
            "the MCP server whose parent is gone",
            Scope::DataDir,
            vec![helper(
                proc(313, 999, 20, server),
                HelperKind::McpServer,
                at_script(SCRIPT, SCRIPT),
            )],
            vec![],
            vec![orphan(Tie::PluginScript(SCRIPT.into()))],
        ),
        (
            "the MCP server through a symlink that resolves into the plugin dir",
            Scope::DataDir,
            vec![helper(
                proc(314, 500, 20, server),
                HelperKind::McpServer,
                at_script("/link/scripts/mcp-server.cjs", SCRIPT),
            )],
            vec![(500, session.clone())],
            vec![alive(Tie::PluginScript(
                "/link/scripts/mcp-server.cjs".into(),
            ))],
        ),
        (
            "an mcp-server.cjs outside the plugin dirs, another user's, or of no data dir",
            Scope::All,
            vec![
                helper(
                    proc(315, 500, 20, &["node", "/tmp/x/mcp-server.cjs"]),
                    HelperKind::McpServer,
                    at_script("/tmp/x/mcp-server.cjs", "/tmp/x/mcp-server.cjs"),
                ),
                {
                    let mut h = helper(
                        proc(316, 500, 20, server),
                        HelperKind::McpServer,
                        at_script(SCRIPT, SCRIPT),
                    );
                    h.proc.info.owner = Some(0);
                    h
                },
                helper(
                    proc(317, 500, 20, server),
                    HelperKind::McpServer,
                    Some(Place {
                        script: Some(PathArg {
                            text: SCRIPT.into(),
                            resolved: SCRIPT.into(),
                        }),
                        env_dir: None,
                        ..place()
                    }),
                ),
            ],
            vec![(500, session.clone())],
            vec![None, None, None],
        ),
        (
            "the MCP launcher under its session; reparented to init; to a user manager",
            Scope::DataDir,
            vec![
                helper(
                    proc(318, 500, 20, LAUNCHER),
                    HelperKind::McpLauncher,
                    Some(place()),
                ),
                helper(
                    proc(319, 1, 20, LAUNCHER),
                    HelperKind::McpLauncher,
                    Some(place()),
                ),
                helper(
                    proc(320, 600, 20, LAUNCHER),
                    HelperKind::McpLauncher,
                    Some(place()),
                ),
            ],
            vec![(500, session.clone()), (600, user_manager.clone())],
            vec![
                alive(Tie::PluginLauncher),
                orphan(Tie::PluginLauncher),
                orphan(Tie::PluginLauncher),
            ],
        ),
        (
            "a system systemd that is not PID 1 is no user manager: the session lives",
            Scope::DataDir,
            vec![helper(
                proc(321, 600, 20, LAUNCHER),
                HelperKind::McpLauncher,
                Some(place()),
            )],
            vec![(600, link(1, 1, &["/lib/systemd/systemd"]))],
            vec![alive(Tie::PluginLauncher)],
        ),
        (
            "the pair, its launcher reparented: both orphaned",
            Scope::DataDir,
            vec![
                helper(
                    proc(700, 1, 20, LAUNCHER),
                    HelperKind::McpLauncher,
                    Some(place()),
                ),
                helper(
                    proc(701, 700, 21, server),
                    HelperKind::McpServer,
                    at_script(SCRIPT, SCRIPT),
                ),
            ],
            vec![(700, link(1, 20, LAUNCHER))],
            vec![
                orphan(Tie::PluginLauncher),
                orphan(Tie::PluginScript(SCRIPT.into())),
            ],
        ),
        (
            "the pair, its launcher under a live session: both alive",
            Scope::DataDir,
            vec![
                helper(
                    proc(700, 500, 20, LAUNCHER),
                    HelperKind::McpLauncher,
                    Some(place()),
                ),
                helper(
                    proc(701, 700, 21, server),
                    HelperKind::McpServer,
                    at_script(SCRIPT, SCRIPT),
                ),
            ],
            vec![(500, session.clone()), (700, link(500, 20, LAUNCHER))],
            vec![
                alive(Tie::PluginLauncher),
                alive(Tie::PluginScript(SCRIPT.into())),
            ],
        ),
    ];
    for (what, scope, helpers, links, want) in rows {
        let mut f = facts(
            host(scope, Some(100)),
            vec![
                worker(100, Some(HERE), &[PORT], heard(Answer::Healthy, None)),
                worker(200, Some(OTHER), &[40999], heard(Answer::Healthy, None)),
            ],
            helpers,
        );
        f.links.extend(links);
        let census = classify(&f);
        for (h, want) in f.helpers.iter().zip(want) {
            let pid = h.proc.info.pid;
            let got = census.get(pid).map(|m| {
                assert_eq!(m.kind, Some(h.kind), "{what}: {pid}'s kind");
                (
                    m.class,
                    m.tie.clone().expect("a listed helper has a tie"),
                    m.worker,
                    m.data_dir.clone().expect("a listed helper has a data dir"),
                )
            });
            let want = want.map(|(c, t, w, d)| (c, t, w, PathBuf::from(d)));
            assert_eq!(got, want, "{what}: helper {pid}");
        }
        let here = census.of_class(Class::Worker).next().expect("the worker");
        assert_eq!(
            here.helpers as usize,
            census.helpers_of(100).count(),
            "{what}: the worker counts its helpers"
        );
    }
}

#[test]
fn every_descendant_of_this_data_dirs_workers_is_listed_as_a_child() {
    let claude = &["claude", "--output-format", "stream-json"][..];
    let mut ours = worker(100, Some(HERE), &[PORT], heard(Answer::Healthy, None));
    let mut theirs = worker(200, Some(OTHER), &[40999], heard(Answer::Healthy, None));
    let observer = proc(300, 100, 20, claude);
    ours.descendants = vec![
        proc(100, 1, 10, WORKER_ARGV),
        proc(800, 100, 20, &["sh", "-c", "which claude"]),
        observer.clone(),
        proc(200, 100, 20, WORKER_ARGV),
    ];
    theirs.descendants = vec![proc(900, 200, 20, &["sh", "-c", "which claude"])];
    let f = facts(
        host(Scope::All, Some(100)),
        vec![ours, theirs],
        vec![helper(observer, HelperKind::Claude, None)],
    );
    let c = classify(&f);
    let child = c.get(800).expect("the plain child");
    assert_eq!(
        (
            child.class,
            child.kind,
            child.worker,
            child.tie.clone(),
            child.data_dir.clone()
        ),
        (
            Class::Helper,
            None,
            Some(100),
            Some(Tie::Descendant(100)),
            Some(PathBuf::from(HERE))
        )
    );
    assert!(
        c.get(900).is_none(),
        "another data dir's worker's children are its own"
    );
    let once: Vec<Pid> = c.members.iter().map(|m| m.pid).collect();
    // Workers first, then each worker's helpers (named kinds after plain children), by PID.
    assert_eq!(once, [100, 200, 800, 300]);
    assert_eq!(c.get(100).map(|w| w.helpers), Some(2));
}

#[test]
fn ports_are_read_only_where_the_rules_need_them() {
    use super::classify::ports_read;
    let holder = Some(7);
    let ours = worker(30, Some(HERE), &[], None);
    let theirs = worker(31, Some(OTHER), &[], None);
    let unread = worker(32, None, &[], None);
    let root = other_user(worker(33, Some(HERE), &[], None));
    let data_dir = host(Scope::DataDir, None);
    let all = host(Scope::All, None);
    let table: &[(&WorkerFacts, &Host, Option<Pid>, bool)] = &[
        // This data dir's worker: its ports are shown (a duplicate on another port, say).
        (&ours, &data_dir, holder, true),
        // Another data dir's, another user's or an unread worker, with the port's holder
        // known: dropped unless it is that holder, which needs no socket read.
        (&theirs, &data_dir, holder, false),
        (&root, &data_dir, holder, false),
        (&unread, &data_dir, holder, false),
        // The holder unknown (the port did not answer, or said no PID): every worker's ports.
        (&theirs, &data_dir, None, true),
        (&unread, &data_dir, None, true),
        // `ps --all` shows every worker's ports.
        (&theirs, &all, holder, true),
        (&root, &all, holder, true),
    ];
    for (i, (w, h, port_pid, want)) in table.iter().enumerate() {
        assert_eq!(ports_read(w, h, *port_pid), *want, "row {i}");
    }

    // And leaving them unread changes nothing in this data dir's census: a foreign worker off
    // the port is dropped either way.
    let with_ports = |ports: &[u16]| {
        classify(&facts(
            host(Scope::DataDir, None),
            vec![
                worker(
                    7,
                    Some(HERE),
                    &[PORT],
                    heard(Answer::Healthy, Some("12.4.7")),
                ),
                worker(31, Some(OTHER), ports, None),
                other_user(worker(33, Some(OTHER), ports, None)),
            ],
            Vec::new(),
        ))
    };
    let read = with_ports(&[41000]);
    assert_eq!(read.members.len(), 1, "{:?}", read.members);
    assert_eq!(
        format!("{:?}", read.members),
        format!("{:?}", with_ports(&[]).members)
    );
}
