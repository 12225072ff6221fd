//! Whole-screen snapshots of the dashboard from fixed fixtures and a fixed clock, at 160×50,
//! 120×40, 100×30, 80×24 and 40×15 (TestBackend + insta).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use claude_mem_top::app::model::Model;
use claude_mem_top::app::msg::Msg;
use claude_mem_top::app::msg::{Action, ApiInfo, DbState, DbStats, FileInfo, Sample};
use claude_mem_top::app::update::update;
use claude_mem_top::config::PortSource;
use claude_mem_top::platform::ProcInfo;
use claude_mem_top::platform::StartToken;
use claude_mem_top::procman::activity::{Item, Kind};
use claude_mem_top::procman::census::{Census, Class, HelperKind, Member, Tie};
use claude_mem_top::procman::identity::{Claim, Proven};
use claude_mem_top::procman::status::{
    Check, Found, Layer, Layout, Record, Since, State, Status, Worker,
};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const SIZES: [(u16, u16); 5] = [(160, 50), (120, 40), (100, 30), (80, 24), (40, 15)];

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_600_000) // 2026-11-25
}

fn check(name: Layer, ok: bool, detail: &str, lat: Option<f64>) -> Check {
    Check {
        latency_ms: lat,
        ..Check::new(name, ok, detail)
    }
}

fn status(state: State) -> Status {
    let (pid, checks, reason, uptime) = match state {
        State::Running => (
            Some(4242),
            vec![
                check(Layer::PidFile, true, ".worker.pid: PID 4242", None),
                check(Layer::Process, true, "PID 4242 alive (bun)", None),
                check(Layer::Http, true, "200 OK", Some(0.42)),
            ],
            None,
            Some(8100),
        ),
        State::Unhealthy => (
            Some(4242),
            vec![
                check(Layer::PidFile, true, ".worker.pid: PID 4242", None),
                check(Layer::Process, true, "PID 4242 alive (bun)", None),
                check(Layer::Http, false, "HTTP 500", Some(1.70)),
            ],
            Some("GET /health: HTTP 500".to_string()),
            Some(8100),
        ),
        State::Stale => (
            Some(999_999),
            vec![
                check(Layer::PidFile, true, ".worker.pid: PID 999999", None),
                check(Layer::Process, false, "process 999999 is not running", None),
            ],
            Some("process 999999 is not running".to_string()),
            None,
        ),
        _ => (
            None,
            vec![
                check(Layer::PidFile, false, "no PID file", None),
                check(Layer::Http, false, "connection refused", Some(0.15)),
            ],
            None,
            None,
        ),
    };
    // What each state carries: a worker (PID 4242, 2h 15m old) the PID file proves, a stale
    // file naming PID 999999, nothing.
    let found = || Found {
        proven: Proven {
            pid: 4242,
            info: ProcInfo::described(4242, &["bun", "worker-service.cjs"]),
        },
        record: record(pid.unwrap_or(4242)),
        since: Since {
            started_at: None,
            uptime_seconds: uptime,
        },
    };
    let worker = match state {
        State::Running => Worker::Running(found()),
        State::Unhealthy => Worker::Unhealthy {
            found: Some(found()),
            stale: None,
            reason: reason.unwrap_or_default(),
        },
        State::Stale => Worker::Stale {
            record: pid.map(record),
            reason: reason.unwrap_or_default(),
        },
        _ => Worker::Stopped,
    };
    Status {
        worker,
        layout: if state == State::Stopped {
            Layout::None
        } else {
            Layout::Spec
        },
        checks,
        pm2_migrated_at: Some("2025-12-13T00:18:39.673Z".into()),
        ..Status::new(
            37777,
            PortSource::Default,
            PathBuf::from("/home/dev/.claude-mem"),
        )
    }
}

fn record(pid: i32) -> Record {
    Record {
        layout: Layout::Spec,
        path: PathBuf::from("/home/dev/.claude-mem/.worker.pid"),
        claim: Claim {
            pid,
            written: std::time::UNIX_EPOCH,
            start_token: None,
        },
        port: Some(37777),
        version: None,
    }
}

const LOG: &[&str] = &[
    "[2026-11-25 09:59:50.101] [INFO ] [SYSTEM] HTTP server started {host=127.0.0.1, port=37777, pid=4242}",
    "[2026-11-25 09:59:51.004] [DEBUG] [DB    ] Query executed {table=observations, rows=12, ms=3}",
    "[2026-11-25 09:59:52.310] [INFO ] [SESSION] [session-42] New prompt received {project=claude-mem}",
    "[2026-11-25 09:59:53.777] [WARN ] [WORKER] Claude CLI dependency preflight failed {kind=setup_required} Claude executable not found. Please either:",
    "1. Add \"claude\" to your system PATH, or",
    "2. Set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json",
    "[SessionStore] Migration004 applied successfully",
    "[2026-11-25 09:59:55.120] [ERROR] [CHROMA_SYNC] Sync failed {attempt=3} Error: connect ECONNREFUSED 127.0.0.1:8000",
    "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
    "[2026-11-25 09:59:58.000] [INFO ] [HTTP  ] GET /api/stats 200 {ms=2}",
    "\u{1b}]0;evil title\u{7} escape sequences stay visible \u{1b}[2J",
];

/// A census member, fixed for snapshots.
fn member(pid: i32, class: Class, kind: Option<HelperKind>, worker: Option<i32>) -> Member {
    Member {
        pid,
        ppid: worker.unwrap_or(1),
        class,
        kind,
        version: kind.is_none().then(|| "7.1.0".to_string()),
        data_dir: Some(PathBuf::from("/home/dev/.claude-mem")),
        ports: if kind.is_none() {
            vec![37777]
        } else {
            Vec::new()
        },
        started_at: None,
        age_seconds: Some(8100),
        owner: claude_mem_top::platform::current_uid(),
        user: None,
        cpu_percent: 0.1,
        cpu_seconds: 8.0,
        rss_bytes: if kind.is_none() {
            98_000_000
        } else {
            41_000_000
        },
        command: "bun worker-service.cjs".into(),
        worker,
        tie: worker.map(Tie::Descendant),
        helpers: if kind.is_none() { 2 } else { 0 },
        answer: None,
        start: StartToken::from_raw(pid as u64),
    }
}

/// The worker 4242 with two helpers, and an orphaned chroma-mcp whose worker is gone.
fn census() -> Census {
    Census {
        members: vec![
            member(4242, Class::Worker, None, None),
            member(4250, Class::Helper, Some(HelperKind::Claude), Some(4242)),
            member(4251, Class::Helper, Some(HelperKind::Chroma), Some(4242)),
            member(3999, Class::OrphanedHelper, Some(HelperKind::Chroma), None),
        ],
    }
}

fn model(state: State) -> Model {
    let t = now();
    let mut m = Model::new(PathBuf::from("/home/dev/.claude-mem"), t);
    m.installed_version = Some("7.1.0".into());
    update(&mut m, Msg::Status(Box::new(status(state))));
    if state == State::Running {
        update(&mut m, Msg::Census(Box::new(census())));
    }
    m.events.clear();
    let ev = [
        (-300, "watching /home/dev/.claude-mem"),
        (-200, "worker running (PID 4242)"),
        (-60, "health lost: GET /health: HTTP 500"),
        (-30, "health regained (PID 4242)"),
    ];
    for (dt, text) in ev {
        m.events
            .push_back((t - Duration::from_secs((-dt) as u64), text.into()));
    }
    let files = vec![
        FileInfo {
            name: ".worker.pid".into(),
            present: state != State::Stopped,
            value: "4242".into(),
            mtime: Some(t - Duration::from_secs(8100)),
            size: None,
        },
        FileInfo {
            name: ".worker.port".into(),
            present: state != State::Stopped,
            value: "37777 / 4242".into(),
            mtime: Some(t - Duration::from_secs(8100)),
            size: None,
        },
        FileInfo {
            name: ".pm2-migrated".into(),
            present: true,
            value: "2025-12-13 00:18:39".into(),
            mtime: Some(t - Duration::from_secs(86400 * 30)),
            size: None,
        },
        FileInfo {
            name: "log".into(),
            present: true,
            value: "worker-2026-11-25.log".into(),
            mtime: Some(t - Duration::from_secs(2)),
            size: Some(48_213),
        },
        FileInfo {
            name: "claude-mem.db".into(),
            present: true,
            value: String::new(),
            mtime: Some(t - Duration::from_secs(40)),
            size: Some(4_096_000),
        },
    ];
    update(&mut m, Msg::Files(files, t));
    if matches!(state, State::Running | State::Unhealthy) {
        m.watched_pid = Some(4242);
        for i in 0..60u64 {
            m.latencies.push_back(300 + (i * 37) % 400);
            m.cpu_hist.push_back((i * 13) % 20);
            m.rss_hist.push_back(98_000 + (i * 311) % 5000);
        }
        m.metrics = Some(Sample {
            pid: 4242,
            cpu_percent: Some(0.4),
            rss_bytes: 101_000_000,
            threads: 14,
            children: 1,
        });
        m.api = Some(ApiInfo {
            version: Some("13.25.3".into()),
            queue_depth: Some(2),
            processing: Some(true),
            parked: Some(0),
            active_sessions: Some(1),
            sse_clients: Some(0),
            stats: true,
            ..ApiInfo::default()
        });
    }
    m.db = DbState::Ok(DbStats {
        counts: vec![
            ("observations".into(), 1842),
            ("sessions".into(), 97),
            ("summaries".into(), 88),
            ("prompts".into(), 310),
            ("pending".into(), 4),
        ],
        pending: vec![("failed".into(), 1), ("pending".into(), 3)],
        schema: Some(52),
        size: 4_096_000,
        wal_size: Some(2_200_000),
        newest_observation: Some("2026-11-25 09:58".into()),
    });
    update(
        &mut m,
        Msg::LogReset {
            path: Some(PathBuf::from(
                "/home/dev/.claude-mem/logs/worker-2026-11-25.log",
            )),
            lines: LOG.iter().map(|s| s.to_string()).collect(),
            reason: claude_mem_top::app::msg::LogReset::Opened,
        },
    );
    m
}

fn key(m: &mut Model, c: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

fn render(m: &Model, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let mut m = m.clone();
    m.size = (w, h);
    term.draw(|f| claude_mem_top::ui::draw(f, &m))
        .expect("draw");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snap(name: &str, m: &Model) {
    // Event times are shown in local time; pin it.
    std::env::set_var("TZ", "UTC");
    for (w, h) in SIZES {
        let screen = render(m, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
    }
}

#[test]
fn running_and_healthy() {
    let m = model(State::Running);
    snap("running", &m);
    let screen = render(&m, 120, 40);
    assert!(
        screen.contains("RUNNING") && screen.contains("PID 4242") && screen.contains("up 2h 15m")
    );
    assert!(screen.contains("API queue 2"), "API figures shown");
    assert!(
        screen.contains("^[]0;evil title^G"),
        "escape sequences are made visible"
    );
}

#[test]
fn stopped() {
    let m = model(State::Stopped);
    snap("stopped", &m);
    assert!(render(&m, 80, 24).contains("STOPPED"));
}

#[test]
fn stale_pid_file() {
    let m = model(State::Stale);
    snap("stale", &m);
    assert!(render(&m, 120, 40).contains("process 999999 is not running"));
}

#[test]
fn unhealthy() {
    let m = model(State::Unhealthy);
    snap("unhealthy", &m);
    assert!(render(&m, 120, 40).contains("HTTP 500"));
}

#[test]
fn stop_confirmation() {
    let mut m = model(State::Running);
    key(&mut m, KeyCode::Char('x'));
    assert_eq!(m.confirm(), Some(Action::Stop));
    snap("confirm_stop", &m);
    assert!(render(&m, 80, 24).contains("Stop the worker (PID 4242)?"));
    key(&mut m, KeyCode::Esc);
    assert_eq!(m.confirm(), None);
    assert!(m.action.is_none(), "Esc cancels without acting");
}

#[test]
fn processes_panel_and_the_reap_question() {
    let mut m = model(State::Running);
    let screen = render(&m, 120, 40);
    assert!(screen.contains("Processes (1 orphaned)"), "{screen}");
    assert!(
        screen.contains("└ claude") && screen.contains("orphan chroma-mcp"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|h| h.contains("1 orphan")),
        "{screen}"
    );
    key(&mut m, KeyCode::Char('X'));
    assert!(m.confirm_proc().is_some());
    snap("confirm_reap", &m);
    let screen = render(&m, 80, 24);
    assert!(screen.contains("End this orphaned helper"), "{screen}");
    assert!(screen.contains("PID 3999 chroma-mcp helper"), "{screen}");
    key(&mut m, KeyCode::Esc);
    assert!(
        m.confirm_proc().is_none() && !m.proc_busy,
        "Esc cancels without acting"
    );
}

#[test]
fn help_popup() {
    let mut m = model(State::Running);
    key(&mut m, KeyCode::Char('?'));
    snap("help", &m);
    assert!(render(&m, 120, 40).contains("quit (the worker keeps running)"));
}

#[test]
fn search_active() {
    let mut m = model(State::Running);
    key(&mut m, KeyCode::Char('/'));
    for c in "preflight".chars() {
        key(&mut m, KeyCode::Char(c));
    }
    assert!(m.searching());
    assert_eq!(m.log.query, "preflight");
    snap("search", &m);
    assert!(render(&m, 120, 40).contains("search: preflight"));
    key(&mut m, KeyCode::Enter);
    assert!(!m.searching());
    assert_eq!(
        m.log.matching_entries().len(),
        1,
        "a multi-line entry counts once"
    );
}

#[test]
fn too_small_and_resizes_never_panic() {
    let m = model(State::Running);
    assert!(render(&m, 30, 8).contains("terminal too small"));
    for w in 1..130u16 {
        let h = 1 + (w * 7) % 45;
        let _ = render(&m, w, h);
    }
}

#[test]
fn monochrome_keeps_meaning_in_text() {
    let mut m = model(State::Unhealthy);
    m.color = false;
    let screen = render(&m, 120, 40);
    assert!(screen.contains("UNHEALTHY") && screen.contains("✗ /health"));
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| claude_mem_top::ui::draw(f, &m))
        .expect("draw");
    let colored = term
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset);
    assert!(!colored, "no colours with --no-color");
}

#[test]
fn supervisor_and_auto_restart_state_in_the_header() {
    let mut m = model(State::Running);
    m.supervisor = Some(claude_mem_top::supervise::SuperviseState {
        state: claude_mem_top::supervise::Stage::Backoff,
        restarts_total: 3,
        backoff_seconds: Some(4.0),
        ..Default::default()
    });
    let s = render(&m, 120, 40);
    assert!(
        s.contains("supervised: backoff (3 restarts, backoff 4s)"),
        "{s}"
    );
    m.supervisor = None;
    key(&mut m, KeyCode::Char('a'));
    assert!(render(&m, 120, 40).contains("auto-restart on (0 restarts)"));
}

/// The facts a new user needs at 80×24, whole: state, PID, port, uptime; 200 OK with its
/// latency; CPU and RSS with units; the port file's port and PID; the DB counts.
#[test]
fn the_key_facts_are_whole_at_80x24() {
    let m = model(State::Running);
    let s = render(&m, 80, 24);
    let header = s.lines().next().unwrap_or("");
    for want in ["RUNNING", "PID 4242", "port 37777", "up 2h 15m"] {
        assert!(header.contains(want), "{want} in the header:\n{s}");
    }
    for want in [
        "200 OK  0.42 ms",
        "CPU 0.4 %",
        "RSS 96.3 MB",
        "37777 / 4242",
        "PID 4242 alive",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    // The counts whole, with full or short labels.
    for (full, short, n) in [
        ("observations", "obs", 1842),
        ("sessions", "sess", 97),
        ("summaries", "sum", 88),
    ] {
        assert!(
            s.contains(&format!("{full} {n}")) || s.contains(&format!("{short} {n}")),
            "{full} {n}:\n{s}"
        );
    }
    // Lines cut for width end in `…`; none is cut silently mid-number.
    assert!(s.contains('…'), "{s}");
}

/// Every help line ends with its full text at every size: scroll the popup through and find
/// each command's whole help text (wrapped lines joined).
#[test]
fn help_lines_are_whole_at_every_size() {
    std::env::set_var("TZ", "UTC");
    for (w, h) in SIZES {
        let mut m = model(State::Running);
        key(&mut m, KeyCode::Char('?'));
        let mut seen = String::new();
        for _ in 0..60 {
            let screen = render(&m, w, h);
            let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
            // The popup: from its `┌ Keys` corner to the `┐` on the same row.
            let (top, left) = rows
                .iter()
                .enumerate()
                .find_map(|(y, r)| {
                    let s: String = r.iter().collect();
                    s.find("┌ Keys").map(|b| (y, s[..b].chars().count()))
                })
                .expect("help popup drawn");
            let right = rows[top][left..]
                .iter()
                .position(|c| *c == '┐')
                .map(|p| p + left)
                .expect("popup corner");
            // From 110 columns on the help has two columns: read the left one, then the right.
            let two = w >= 110;
            let col = (right - left + 1).saturating_sub(4) / 2 + 2;
            let mut second = String::new();
            for r in &rows[top + 1..] {
                if r.get(left) == Some(&'└') {
                    break;
                }
                let inner: Vec<char> = r[(left + 1).min(r.len())..right.min(r.len())].to_vec();
                let cut = if two {
                    col.min(inner.len())
                } else {
                    inner.len()
                };
                seen.extend(&inner[..cut]);
                seen.push(' ');
                second.extend(&inner[cut..]);
                second.push(' ');
            }
            seen.push_str(&second);
            key(&mut m, KeyCode::Down);
        }
        let flat = seen.split_whitespace().collect::<Vec<_>>().join(" ");
        for s in claude_mem_top::app::keymap::SPECS {
            assert!(
                flat.contains(s.help),
                "{w}×{h}: `{}` not whole in help",
                s.help
            );
        }
    }
}

fn stored(kind: Kind, id: i64, mins_ago: i64, label: &str, title: &str) -> Item {
    let at_ms = now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - mins_ago * 60_000;
    Item {
        kind,
        id,
        at_ms: Some(at_ms),
        at: Some(format!("t-{mins_ago}m")),
        label: Some(label.into()),
        title: title.into(),
        project: Some("claude-mem".into()),
        text: format!("{title}\n\nNarrative:\nWhat was learned, in full.\nA second line."),
    }
}

/// Activity beside the logs on a wide screen, in the Events slot while focused on a narrow one,
/// and Enter's read-only detail.
#[test]
fn activity_panel_and_its_detail() {
    let mut m = model(State::Running);
    update(
        &mut m,
        Msg::Activity(vec![
            stored(
                Kind::Observation,
                41,
                9,
                "discovery",
                "Worker restarts hourly: a cron job",
            ),
            stored(
                Kind::Prompt,
                12,
                8,
                "3",
                "why does the worker restart every hour?",
            ),
            stored(
                Kind::Summary,
                7,
                2,
                "",
                "Found the cron entry and removed it",
            ),
            stored(
                Kind::Observation,
                42,
                1,
                "bugfix",
                "Removed the hourly cron restart",
            ),
        ]),
    );
    std::env::set_var("TZ", "UTC");
    let wide = render(&m, 120, 40);
    assert!(wide.contains("Activity (4)"), "{wide}");
    let newest = wide.lines().position(|l| l.contains("Removed the hourly"));
    let oldest = wide
        .lines()
        .position(|l| l.contains("Worker restarts hourly"));
    assert!(newest.is_some() && newest < oldest, "newest first: {wide}");
    // Narrow: the slot shows Events until Activity is focused.
    let narrow = render(&m, 80, 24);
    assert!(!narrow.contains("Activity"), "{narrow}");
    key(&mut m, KeyCode::Tab);
    let narrow = render(&m, 80, 24);
    assert!(narrow.contains("[Activity (4)]"), "{narrow}");
    snap("activity", &m);
    key(&mut m, KeyCode::Down);
    key(&mut m, KeyCode::Enter);
    let detail = render(&m, 120, 40);
    assert!(
        detail.contains("summary #7") && detail.contains("What was learned, in full."),
        "{detail}"
    );
    snap("activity_detail", &m);
    key(&mut m, KeyCode::Esc);
    assert!(!render(&m, 120, 40).contains("What was learned"));
}

/// A healthy worker whose pipeline is degraded (claude_cli missing, as 13.25.3 reports it),
/// stalled and flapping, and that runs another version than the installed plugin.
fn degraded_model() -> Model {
    use claude_mem_top::procman::pipeline::{self, Pipeline, PromptFlow, Restarts, Versions};
    // The stalled reason names local times.
    std::env::set_var("TZ", "UTC");
    let now_ms = now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let health: serde_json::Value = serde_json::json!({"dependencies": {"degraded": true,
        "statuses": [{"dependency": "claude_cli", "kind": "setup_required",
        "message": "Claude executable not found. Please either:\n1. Add \"claude\" to your system PATH, or\n2. Set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json",
        "remediation": "Install or update Claude Code CLI, then restart claude-mem. Try `claude update`.",
        "recordedAtMs": now_ms - 60_000}]}});
    let mut p = Pipeline {
        dependencies: pipeline::parse_dependencies(&health),
        activity: Some(PromptFlow {
            newest_prompt_ms: Some(now_ms - 5 * 60_000),
            newest_observation_ms: Some(now_ms - 3 * 3_600_000),
            prompts_since_observation: 7,
            oldest_unobserved_prompt_ms: Some(now_ms - 2 * 3_600_000),
        }),
        restarts: Some(Restarts {
            starts_last_hour: 9,
            version_mismatches_last_hour: 8,
        }),
        versions: Versions {
            running: Some("13.25.3".into()),
            installed: Some("13.26.0".into()),
        },
        ..Pipeline::default()
    };
    pipeline::evaluate(&mut p, pipeline::DEFAULT_STALL_AFTER, now_ms);
    let mut m = model(State::Running);
    m.installed_version = Some("13.26.0".into());
    if let Some(st) = m.status.as_mut() {
        st.pipeline = Some(p);
    }
    m
}

#[test]
fn degraded_stalled_and_flapping_badges_and_the_health_detail() {
    let m = degraded_model();
    snap("pipeline_degraded", &m);
    for (w, h) in SIZES.into_iter().filter(|(w, _)| *w >= 80) {
        let s = render(&m, w, h);
        let header = s.lines().next().unwrap_or("");
        for b in ["DEGRADED", "STALLED", "FLAPPING"] {
            assert!(header.contains(b), "{b} in the header at {w}x{h}:\n{s}");
        }
    }
    let s = render(&m, 160, 50);
    assert!(s.contains("≠ installed 13.26.0"), "{s}");
    assert!(s.contains("DEGRADED claude_cli setup_required"), "{s}");
    // Only the claude_cli finding: its fix has room under it.
    if let Some(st) = m.status.as_ref().and_then(|st| st.pipeline.as_ref()) {
        let mut one = m.clone();
        let mut p = st.clone();
        p.findings.truncate(1);
        if let Some(s) = one.status.as_mut() {
            s.pipeline = Some(p);
        }
        let s = render(&one, 160, 50);
        assert!(s.contains("fix Install or update Claude Code CLI"), "{s}");
    }
}

#[test]
fn enter_on_health_opens_the_health_detail_with_every_fix() {
    use claude_mem_top::app::model::{Focus, Mode};
    let mut m = degraded_model();
    let fixes: Vec<String> = m
        .status
        .as_ref()
        .and_then(|st| st.pipeline.as_ref())
        .map(|p| p.findings.iter().map(|f| f.fix.clone()).collect())
        .unwrap_or_default();
    assert!(fixes.len() >= 3, "{fixes:?}");
    // The panel has no room for the fixes of three findings and more.
    let panel = render(&m, 120, 40);
    assert!(!panel.contains("fix Install or update"), "{panel}");

    m.focus = Focus::Health;
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.mode, Mode::HealthDetail(0));
    let s = render(&m, 120, 40);
    assert!(s.contains("Esc closes"), "{s}");
    assert!(s.contains("DEGRADED: claude_cli setup_required"), "{s}");
    assert!(s.contains("fix: Install or update Claude Code CLI"), "{s}");
    // Every finding's fix is in it, the first words at least (long ones wrap).
    for f in &fixes {
        let start: String = f.chars().take(30).collect();
        assert!(s.contains(&start), "{start:?} in:\n{s}");
    }
    key(&mut m, KeyCode::Char('j'));
    assert_eq!(m.mode, Mode::HealthDetail(1));
    key(&mut m, KeyCode::Esc);
    assert_eq!(m.mode, Mode::Normal);
    // Elsewhere, Enter still says where it works.
    m.focus = Focus::Logs;
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.mode, Mode::Normal);
}

/// Issue 24: `g` on a long log shows a full page of its first lines (it showed the oldest line
/// alone at the bottom of an empty panel), and a key's result leaves the header after a while.
#[test]
fn the_log_panel_at_its_top_and_a_notice_that_expires() {
    use claude_mem_top::app::model::Focus;
    let mut m = model(State::Running);
    update(
        &mut m,
        Msg::LogReset {
            path: Some(PathBuf::from(
                "/home/dev/.claude-mem/logs/worker-2026-11-25.log",
            )),
            lines: (1..=900)
                .map(|i| format!("[2026-11-25 09:00:00.000] [INFO ] [WORKER] line {i} of 900"))
                .collect(),
            reason: claude_mem_top::app::msg::LogReset::Opened,
        },
    );
    m.focus = Focus::Logs;
    key(&mut m, KeyCode::Char('g'));
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = render(&m, w, h);
        let first = screen
            .find("line 1 of 900")
            .expect("the first line on screen");
        let mut shown = 0;
        for i in 1..=20 {
            if screen.contains(&format!("line {i} of 900")) {
                shown = i;
            }
        }
        assert!(shown >= 5, "a full page from the top at {w}x{h}:\n{screen}");
        assert!(
            screen[first..].contains(&format!("line {shown} of 900")),
            "in order:\n{screen}"
        );
        assert!(!screen.contains("line 900 of 900"), "{screen}");
    }
    std::env::set_var("TZ", "UTC");
    insta::assert_snapshot!("log_top_120x40", render(&m, 120, 40));
    // `w` on an entry taller than the panel shows its first page, not its last line.
    let long: String = (0..700).map(|i| format!("w{i:03} ")).collect();
    update(
        &mut m,
        Msg::LogReset {
            path: Some(PathBuf::from(
                "/home/dev/.claude-mem/logs/worker-2026-11-25.log",
            )),
            lines: vec![format!(
                "[2026-11-25 09:00:00.000] [INFO ] [WORKER] start {long}"
            )],
            reason: claude_mem_top::app::msg::LogReset::Opened,
        },
    );
    key(&mut m, KeyCode::Char('w'));
    let screen = render(&m, 120, 40);
    assert!(
        screen.contains("[WORKER] start w000") && !screen.contains("w699"),
        "{screen}"
    );
    // A notice shows, then goes.
    m.notice("start done in 12 ms: started PID 4242", true);
    assert!(render(&m, 120, 40).contains("start done in 12 ms"));
    let later = m.now + claude_mem_top::app::update::NOTICE_FOR;
    update(&mut m, Msg::Tick(later));
    assert!(!render(&m, 120, 40).contains("start done in 12 ms"));
}

/// Issue 24's cut numbers: at 80×24 a 13.x `worker.pid` drops whole fields (never `…00, token`),
/// and a database error is shown whole, wrapped, not cut mid-word.
#[test]
fn numbers_are_whole_or_absent_and_errors_wrap_at_80x24() {
    let mut m = model(State::Running);
    let t = now();
    update(
        &mut m,
        Msg::Files(
            vec![FileInfo {
                name: "worker.pid".into(),
                present: true,
                value: "pid 28635, port 37700, token 1570186".into(),
                mtime: Some(t - Duration::from_secs(60)),
                size: None,
            }],
            t,
        ),
    );
    update(
        &mut m,
        Msg::Db(Box::new(claude_mem_top::app::msg::DbState::Error(
            "database disk image is malformed".into(),
        ))),
    );
    let screen = render(&m, 80, 24);
    let row = screen
        .lines()
        .find(|l| l.contains("pid 28635"))
        .unwrap_or_else(|| panic!("no worker.pid row:\n{screen}"));
    // Each number is whole or not there.
    for n in ["28635", "37700", "1570186"] {
        let cut = (1..n.len()).any(|k| row.contains(&format!("…{}", &n[k..])));
        assert!(!cut, "{n} cut in {row:?}");
    }
    let joined: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains("malformed"),
        "the database error is shown to its end:\n{screen}"
    );
}

/// Issue 26 in the dashboard: `/` with Activity focused searches the memories and shows the
/// results in the Activity panel (Enter opens one, Esc goes back to the live list).
#[test]
fn memory_search_in_the_activity_panel() {
    use claude_mem_top::app::memory::{Job, Read};
    use claude_mem_top::app::update::Effect;
    use claude_mem_top::procman::search::{Found, Hit, Via};
    let mut m = model(State::Running);
    update(
        &mut m,
        Msg::Activity(vec![
            stored(
                Kind::Observation,
                41,
                9,
                "discovery",
                "Worker restarts hourly",
            ),
            stored(
                Kind::Observation,
                42,
                1,
                "bugfix",
                "Removed the hourly cron restart",
            ),
        ]),
    );
    key(&mut m, KeyCode::Tab);
    key(&mut m, KeyCode::Char('/'));
    for c in "cron".chars() {
        key(&mut m, KeyCode::Char(c));
    }
    std::env::set_var("TZ", "UTC");
    let typing = render(&m, 120, 40);
    let footer = typing.lines().last().unwrap_or("");
    assert!(footer.contains("search memories: cron"), "{typing}");
    let fx = update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Enter))).fx;
    assert_eq!(
        fx,
        vec![Effect::Memory(Job::Search {
            seq: 1,
            text: "cron".into()
        })]
    );
    assert!(render(&m, 120, 40).contains("Search \"cron\" · searching…"));
    let hits = vec![
        Hit {
            item: stored(
                Kind::Observation,
                42,
                1,
                "bugfix",
                "Removed the hourly cron restart",
            ),
            via: Via::Fts5,
        },
        Hit {
            item: stored(Kind::Summary, 7, 3 * 24 * 60, "", "Found the cron entry"),
            via: Via::Fts5,
        },
    ];
    update(
        &mut m,
        Msg::Memory(Box::new(Read::Search {
            seq: 1,
            result: Ok(Found {
                hits,
                via: Some(Via::Fts5),
                notes: Vec::new(),
            }),
        })),
    );
    let wide = render(&m, 120, 40);
    assert!(
        wide.contains("Search \"cron\" (2) · FTS5 · Esc live"),
        "{wide}"
    );
    assert!(!wide.contains("Worker restarts hourly"), "{wide}");
    snap("memory_search", &m);
    key(&mut m, KeyCode::Down);
    key(&mut m, KeyCode::Enter);
    assert!(render(&m, 120, 40).contains("summary #7"));
    key(&mut m, KeyCode::Esc);
    key(&mut m, KeyCode::Esc);
    let live = render(&m, 120, 40);
    assert!(
        live.contains("Activity (2)") && live.contains("Worker restarts hourly"),
        "{live}"
    );
    // No match, and a search that failed, say so in the panel.
    key(&mut m, KeyCode::Char('/'));
    key(&mut m, KeyCode::Char('z'));
    key(&mut m, KeyCode::Enter);
    update(
        &mut m,
        Msg::Memory(Box::new(Read::Search {
            seq: 2,
            result: Err("no database at /x/claude-mem.db: nothing to search".into()),
        })),
    );
    let failed = render(&m, 120, 40);
    assert!(
        failed.contains("failed") && failed.contains("no database at"),
        "{failed}"
    );
}

/// `Q`: the queue oldest first, the stuck message marked; `C`: every setting with its origin.
#[test]
fn queue_and_settings_popups() {
    use claude_mem_top::app::memory::Read;
    use claude_mem_top::procman::pipeline::Observer;
    use claude_mem_top::procman::queue::{Message, Queue};
    use claude_mem_top::procman::settings::{
        FileNote, FileState, Origin, Problem, Report, Setting,
    };
    let mut m = model(State::Running);
    key(&mut m, KeyCode::Char('Q'));
    assert!(render(&m, 120, 40).contains("reading the queue…"));
    let msg = |id: i64, status: &str, tool: &str, age: u64, stuck: bool| Message {
        id,
        kind: Some("observation".into()),
        status: Some(status.into()),
        tool: Some(tool.into()),
        project: Some("webapp".into()),
        cwd: None,
        session: Some(format!("sess-{id}")),
        queued_at: None,
        age_seconds: Some(age),
        stuck,
    };
    let now_ms = now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let q = Queue {
        available: true,
        pending: 2,
        processing: 1,
        oldest_age_seconds: Some(7260),
        stall_after_seconds: 1800,
        stuck: 1,
        messages: vec![
            msg(3, "processing", "Edit", 7260, true),
            msg(8, "pending", "Bash", 95, false),
            msg(9, "pending", "Read", 4, false),
        ],
        observer: Some(Observer {
            consecutive_failures: 3,
            failing_since_ms: Some(now_ms - 600_000),
            last_error_at_ms: Some(now_ms - 60_000),
            last_error_message: Some("claude exited with code 1".into()),
            last_success_at_ms: None,
        }),
        ..Queue::default()
    };
    update(&mut m, Msg::Memory(Box::new(Read::Queue(Ok(q)))));
    let screen = render(&m, 120, 40);
    let rows: Vec<&str> = screen.lines().collect();
    let at = |id: &str| rows.iter().position(|l| l.contains(id));
    assert!(
        at("sess-3") < at("sess-8") && at("sess-8") < at("sess-9"),
        "oldest first: {screen}"
    );
    assert!(
        rows.iter()
            .any(|l| l.contains("sess-3") && l.contains("STUCK")),
        "{screen}"
    );
    assert!(
        !rows
            .iter()
            .any(|l| l.contains("sess-8") && l.contains("STUCK")),
        "{screen}"
    );
    assert!(screen.contains("1 STUCK (waiting over 30m 0s)"), "{screen}");
    assert!(
        screen.contains("observer: 3 failures in a row since 10m 0s ago"),
        "{screen}"
    );
    snap("queue_popup", &m);
    key(&mut m, KeyCode::Esc);

    key(&mut m, KeyCode::Char('C'));
    let file = PathBuf::from("/home/dev/.claude-mem/settings.json");
    let set = |key: &str, value: &str, origin: Origin, problem: Option<Problem>| Setting {
        key: key.into(),
        value: Some(value.into()),
        origin,
        secret: key.contains("KEY"),
        problem,
    };
    let report = Report {
        data_dir: PathBuf::from("/home/dev/.claude-mem"),
        files: vec![FileNote {
            path: file.clone(),
            state: FileState::Flat { keys: 3 },
        }],
        settings: vec![
            set("CLAUDE_MEM_WORKER_PORT", "41234", Origin::Env, None),
            set(
                "CLAUDE_MEM_LOG_LEVEL",
                "DEBUG",
                Origin::File(file.clone()),
                None,
            ),
            set(
                "CLAUDE_MEM_GEMINI_API_KEY",
                "…wxyz",
                Origin::File(file.clone()),
                None,
            ),
            set(
                "CLAUDE_MEM_MODEL",
                "claude-haiku-4-5",
                Origin::Default,
                None,
            ),
            set(
                "CLAUDE_MEM_TYPO",
                "1",
                Origin::File(file),
                Some(Problem::Unknown),
            ),
        ],
    };
    update(&mut m, Msg::Memory(Box::new(Read::Settings(Ok(report)))));
    let screen = render(&m, 120, 40);
    let row = |k: &str| {
        screen
            .lines()
            .find(|l| l.contains(k))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        row("CLAUDE_MEM_WORKER_PORT").contains("41234")
            && row("CLAUDE_MEM_WORKER_PORT").contains(" env"),
        "{screen}"
    );
    assert!(
        row("CLAUDE_MEM_LOG_LEVEL").contains("/home/dev/.claude-mem/settings.json"),
        "{screen}"
    );
    assert!(row("CLAUDE_MEM_MODEL").contains("default"), "{screen}");
    assert!(row("CLAUDE_MEM_TYPO").contains("! unknown"), "{screen}");
    snap("settings_popup", &m);
}
