//! The built-in stand-in worker: a real HTTP server on 127.0.0.1 that answers like the claude-mem
//! worker, logs like it, and has switches for faults. Tests and the demo run it; nobody needs bun.

use std::io::{BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::platform;
use crate::procman::files;

pub mod head;
mod sse;

/// Which claude-mem release the stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// 7.1.0 as specified: the manager writes `.worker.pid` and `.worker.port`.
    Spec,
    /// 13.x: its own `worker.pid` JSON with a start token, `logs/claude-mem-<date>.log`.
    #[value(name = "13.x")]
    V13,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Spec => "spec",
            Mode::V13 => "13.x",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct StandInArgs {
    /// `spec` (7.1.0: the manager writes the PID files) or `13.x` (writes its own worker.pid JSON
    /// with a start token and logs to logs/claude-mem-DATE.log)
    #[arg(long, value_enum, default_value_t = Mode::Spec)]
    pub mode: Mode,
    /// Port: the global `--port` (default: env CLAUDE_MEM_WORKER_PORT), filled in by `main`
    #[arg(skip)]
    pub port: Option<u16>,
    /// Milliseconds to wait before listening
    #[arg(long, default_value_t = 0)]
    pub slow_start: u64,
    /// Exit with code 3 before listening (after --slow-start)
    #[arg(long)]
    pub die_before_listen: bool,
    /// Exit with code 1 this many milliseconds after listening
    #[arg(long)]
    pub die_after: Option<u64>,
    /// GET /health answers 500
    #[arg(long)]
    pub health_fail: bool,
    /// GET /health answers 500 from this many milliseconds after listening (healthy before)
    #[arg(long, value_name = "MS")]
    pub health_fail_after: Option<u64>,
    /// GET /health never answers
    #[arg(long)]
    pub health_hang: bool,
    /// Ignore SIGTERM (so only SIGKILL stops it)
    #[arg(long)]
    pub ignore_sigterm: bool,
    /// Spawn a child process (in the same process group)
    #[arg(long)]
    pub spawn_child: bool,
    /// Log lines per second
    #[arg(long, default_value_t = 2.0)]
    pub log_rate: f64,
    /// Version reported by /api/health and /api/version [default: from --script's path, else
    /// 13.25.3]
    #[arg(long)]
    pub version: Option<String>,
    /// Run "from" this worker script path (an argument only, for the census to see, as in
    /// `bun …/claude-mem/12.4.7/scripts/worker-service.cjs`)
    #[arg(long, value_name = "PATH")]
    pub script: Option<PathBuf>,
    /// Spawn helpers shaped like claude-mem's (the observer's `claude … --output-format
    /// stream-json` in DATA_DIR/observer-sessions/1, `chroma-mcp --data-dir DATA_DIR/vector-db`,
    /// `mcp-server.cjs`), which outlive the worker when it is killed
    #[arg(long)]
    pub spawn_helpers: bool,
    /// Accept TCP connections and never answer (a wedged listener)
    #[arg(long)]
    pub wedged: bool,
    /// Become wedged this many milliseconds after listening (healthy before)
    #[arg(long, value_name = "MS")]
    pub wedged_after: Option<u64>,
    /// `GET /stream` answers 503 (DB not ready) for this many milliseconds after listening
    #[arg(long, value_name = "MS")]
    pub stream_unready: Option<u64>,
    /// Exit 0 at once when `worker.pid` names a process that still exists (a zombie counts), as
    /// claude-mem's own worker does
    #[arg(long)]
    pub exit_if_pid_alive: bool,
    /// Report this dependency degraded in /api/health `dependencies`, in the shape 13.25.3 uses
    /// (repeatable): claude_cli (setup_required), uvx, chroma (vector_search_unavailable)
    #[arg(long, value_enum, value_name = "DEPENDENCY")]
    pub degraded: Vec<DegradedDep>,
    /// What GET /api/chroma/status reports
    #[arg(long, value_enum, default_value_t = ChromaReport::Healthy)]
    pub chroma: ChromaReport,
    /// Write observer-health.json into the data dir with this many consecutive failures (as the
    /// 13.x worker does after failed observer runs)
    #[arg(long, value_name = "N")]
    pub observer_failures: Option<u64>,
    /// The lastErrorMessage written with --observer-failures
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "Claude Code process exited with code 1"
    )]
    pub observer_error: String,
    /// Write state/hook-failures.json into the data dir with this many consecutive failures (as
    /// claude-mem's hooks do when they cannot reach the worker)
    #[arg(long, value_name = "N")]
    pub hook_failures: Option<u64>,
    /// Answer only GET /health, everything else 404, as the released 7.1.0 worker
    #[arg(long)]
    pub bare: bool,
    /// Grow resident memory by this many MB a second (up to 2 GB): a leak, for
    /// `supervise --max-memory`
    #[arg(long, value_name = "MB")]
    pub grow_memory: Option<u64>,
}

/// A dependency the stand-in can report degraded (in the order of their names, as the worker
/// lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum DegradedDep {
    Chroma,
    #[value(name = "claude_cli")]
    ClaudeCli,
    Uvx,
}

/// The stand-in's `/api/chroma/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChromaReport {
    Healthy,
    Unhealthy,
    Disabled,
}

/// 13.25.3's remediation texts.
const CLAUDE_FIX: &str = "Install or update Claude Code CLI, then restart claude-mem. Try `claude update`, `npm install -g @anthropic-ai/claude-code@latest`, or set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json.";
const UVX_FIX: &str = "Install uv/uvx and make uvx visible to the worker PATH, then restart claude-mem. Try `curl -LsSf https://astral.sh/uv/install.sh | sh` or `brew install uv`.";
const CHROMA_FIX: &str = "Stop the other claude-mem worker using the same Chroma data directory, or configure a distinct CLAUDE_MEM_DATA_DIR / remote Chroma instance, then restart claude-mem.";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// `/api/health` `dependencies`, as 13.25.3 builds it (only degraded ones listed, by name).
fn dependencies(args: &StandInArgs, at_ms: u64) -> serde_json::Value {
    let mut deps = args.degraded.clone();
    deps.sort();
    deps.dedup();
    let statuses: Vec<serde_json::Value> = deps
        .iter()
        .map(|d| {
            let (name, kind, message, fix) = match d {
                DegradedDep::ClaudeCli => (
                    "claude_cli",
                    "setup_required",
                    "Claude executable not found. Please either:\n1. Add \"claude\" to your system PATH, or\n2. Set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json",
                    CLAUDE_FIX,
                ),
                DegradedDep::Uvx => (
                    "uvx",
                    "vector_search_unavailable",
                    "uvx executable not found on the worker PATH",
                    UVX_FIX,
                ),
                DegradedDep::Chroma => (
                    "chroma",
                    "vector_search_unavailable",
                    "Chroma data directory is locked by another process",
                    CHROMA_FIX,
                ),
            };
            serde_json::json!({
                "dependency": name,
                "kind": kind,
                "message": message,
                "remediation": fix,
                "recordedAtMs": at_ms,
            })
        })
        .collect();
    serde_json::json!({ "degraded": !statuses.is_empty(), "statuses": statuses })
}

/// The state files the 13.x worker and hooks write, when asked to (their real field names).
fn write_state_files(args: &StandInArgs, dir: Option<&std::path::Path>, out: &Out) {
    let Some(dir) = dir else { return };
    let now = now_ms();
    if let Some(n) = args.observer_failures {
        let body = serde_json::json!({
            "consecutiveFailures": n,
            "failingSinceAt": if n > 0 { Some(now.saturating_sub(n * 60_000)) } else { None },
            "lastErrorAt": if n > 0 { Some(now) } else { None },
            "lastErrorMessage": if n > 0 { Some(args.observer_error.as_str()) } else { None },
            "lastErrorProvider": if n > 0 { Some("claude") } else { None },
            "lastSuccessAt": null,
            "lastErrorCode": null,
            "lastErrorAction": null,
            "lastErrorUrl": null,
            "lastErrorRequestId": null,
            "quotaCooldown": null,
        });
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        if let Err(e) = files::write_atomic(&dir.join("observer-health.json"), text.as_bytes()) {
            emit(
                out,
                &line(
                    "WARN",
                    "SESSION",
                    &format!("Failed to write observer-health file {e}"),
                ),
            );
        }
    }
    if let Some(n) = args.hook_failures {
        let state = dir.join("state");
        let _ = std::fs::create_dir_all(&state);
        let body = serde_json::json!({
            "consecutiveFailures": n,
            "lastFailureAt": now,
            "thresholdTripped": n >= 3,
        });
        let text = serde_json::to_string(&body).unwrap_or_default();
        if let Err(e) = files::write_atomic(&state.join("hook-failures.json"), text.as_bytes()) {
            emit(
                out,
                &line(
                    "WARN",
                    "SYSTEM",
                    &format!("Failed to persist hook-failure counter {e}"),
                ),
            );
        }
    }
}

fn ts() -> String {
    platform::local_now()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// One formatted log line in claude-mem's format.
pub fn line(level: &str, component: &str, msg: &str) -> String {
    format!("[{}] [{level:<5}] [{component:<6}] {msg}", ts())
}

struct Shared {
    start: Instant,
    version: String,
    requests: AtomicU64,
    args: StandInArgs,
    port: u16,
    pid: u32,
    data_dir: Option<PathBuf>,
    /// When it started listening (ms since the epoch): the dependencies' `recordedAtMs`.
    started_ms: u64,
    /// `/stream`'s clients.
    sse: sse::Hub,
    /// `METHOD path` of every request (the first 10,000), for `GET /api/stand-in/requests`.
    seen: std::sync::Mutex<Vec<String>>,
}

type Out = Arc<std::sync::Mutex<Box<dyn Write + Send>>>;

fn emit(out: &Out, text: &str) {
    if let Ok(mut w) = out.lock() {
        let _ = writeln!(w, "{text}");
        let _ = w.flush();
    }
}

pub fn child_main(ignore_sigterm: bool) -> ! {
    if ignore_sigterm {
        crate::platform::ignore_terminate();
    }
    loop {
        std::thread::park();
    }
}

pub fn main(args: StandInArgs) -> u8 {
    let port = match args.port.or_else(|| {
        std::env::var("CLAUDE_MEM_WORKER_PORT")
            .ok()
            .and_then(|p| files::parse_port(&p).ok())
    }) {
        Some(p) => p,
        None => {
            eprintln!("stand-in-worker: set CLAUDE_MEM_WORKER_PORT (1024-65535) or --port");
            return 2;
        }
    };
    let v13 = args.mode == Mode::V13;
    let data_dir = std::env::var_os("CLAUDE_MEM_DATA_DIR").map(PathBuf::from);
    let out: Out = if v13 {
        let dir = data_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let log = crate::procman::spawn::dated_log(&dir.join("logs"), "claude-mem");
        match crate::procman::spawn::open_append(&log) {
            Ok(f) => Arc::new(std::sync::Mutex::new(Box::new(BufWriter::new(f)))),
            Err(e) => {
                eprintln!("stand-in-worker: cannot open {}: {e}", log.display());
                return 1;
            }
        }
    } else {
        Arc::new(std::sync::Mutex::new(Box::new(BufWriter::new(
            std::io::stdout(),
        ))))
    };
    let pid = std::process::id();
    if args.exit_if_pid_alive {
        if let Some(other) = recorded_pid_exists(data_dir.as_deref(), pid) {
            emit(
                &out,
                &line(
                    "INFO",
                    "SYSTEM",
                    &format!("Worker already running (PID {other})"),
                ),
            );
            return 0;
        }
    }

    if args.ignore_sigterm {
        crate::platform::ignore_terminate();
    }
    emit(
        &out,
        &line(
            "INFO",
            "SYSTEM",
            &format!(
                "Worker starting {{pid={pid}, port={port}, mode={}}}",
                args.mode.label()
            ),
        ),
    );
    let _child = if args.spawn_child {
        let mut c = std::process::Command::new(
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from("claude-mem-top")),
        );
        c.arg("stand-in-child");
        if args.ignore_sigterm {
            c.arg("--ignore-sigterm");
        }
        match c.stdin(std::process::Stdio::null()).spawn() {
            Ok(ch) => {
                emit(
                    &out,
                    &line(
                        "INFO",
                        "WORKER",
                        &format!("MCP helper started {{pid={}}}", ch.id()),
                    ),
                );
                Some(ch)
            }
            Err(e) => {
                emit(
                    &out,
                    &line("ERROR", "WORKER", &format!("cannot start helper: {e}")),
                );
                None
            }
        }
    } else {
        None
    };
    let _helpers = if args.spawn_helpers {
        spawn_helpers(&out, data_dir.as_deref())
    } else {
        Vec::new()
    };
    if args.slow_start > 0 {
        std::thread::sleep(Duration::from_millis(args.slow_start));
    }
    if args.die_before_listen {
        emit(
            &out,
            &line(
                "ERROR",
                "SYSTEM",
                "Fatal: database initialization failed (stand-in --die-before-listen)",
            ),
        );
        emit(&out, "Error: SQLITE_CANTOPEN: unable to open database file\n    at Database.open (bun:sqlite:1:1)");
        return 3;
    }
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            emit(
                &out,
                &line(
                    "ERROR",
                    "SYSTEM",
                    &format!("Failed to start HTTP server {{port={port}}} {e}"),
                ),
            );
            emit(
                &out,
                &format!("error: EADDRINUSE: address already in use 127.0.0.1:{port}"),
            );
            return 1;
        }
    };
    let shared = Arc::new(Shared {
        start: Instant::now(),
        version: args
            .version
            .clone()
            .or_else(|| {
                let script = args.script.as_ref()?.to_string_lossy().into_owned();
                crate::procman::census::version_from_path(&[script])
            })
            .unwrap_or_else(|| "13.25.3".into()),
        requests: AtomicU64::new(0),
        args: args.clone(),
        port,
        pid,
        data_dir: data_dir.clone(),
        started_ms: now_ms(),
        sse: sse::Hub::default(),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    emit(
        &out,
        &line(
            "INFO",
            "SYSTEM",
            &format!("HTTP server started {{host=127.0.0.1, port={port}, pid={pid}}}"),
        ),
    );
    if v13 {
        write_v13_files(&shared);
    }
    write_state_files(&args, data_dir.as_deref(), &out);
    let stopping = Arc::new(AtomicBool::new(false));

    // Signals: log the shutdown line and exit 0.
    if !args.ignore_sigterm {
        let out2 = out.clone();
        let sh = shared.clone();
        let _ = crate::platform::shutdown_signals(move |sig| {
            let name = sig.name();
            shutdown(&out2, &sh, &format!("Received {name}, shutting down..."), 0)
        });
    }
    if let Some(mb) = args.grow_memory.filter(|mb| *mb > 0) {
        std::thread::spawn(move || {
            // Touched pages, so they count as resident; held until the process ends.
            let mut held: Vec<Vec<u8>> = Vec::new();
            let step = Duration::from_millis(100);
            while held.len() as u64 * mb / 10 < 2048 {
                held.push(vec![1u8; (mb as usize * 1024 * 1024) / 10]);
                std::thread::sleep(step);
            }
            loop {
                std::thread::park();
            }
        });
    }
    if let Some(ms) = args.die_after {
        let out2 = out.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            emit(
                &out2,
                &line(
                    "ERROR",
                    "SYSTEM",
                    "Uncaught exception: stand-in --die-after",
                ),
            );
            emit(&out2, "TypeError: undefined is not an object (evaluating 'session.id')\n    at processQueue (worker-service.cjs:1:2345)");
            std::process::exit(1);
        });
    }
    {
        let out2 = out.clone();
        let rate = args.log_rate;
        let stop = stopping.clone();
        std::thread::spawn(move || log_loop(&out2, rate, port, &stop));
    }
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let sh = shared.clone();
        let out2 = out.clone();
        std::thread::spawn(move || handle(conn, &sh, &out2));
    }
    0
}

fn shutdown(out: &Out, sh: &Shared, msg: &str, code: i32) -> ! {
    emit(out, &line("INFO", "SYSTEM", msg));
    if sh.args.mode == Mode::V13 {
        if let Some(dir) = &sh.data_dir {
            let _ = files::remove_if(&dir.join(files::JSON_PID_FILE), |t| {
                t.contains(&format!("\"pid\": {}", sh.pid))
            });
            let _ = files::write_atomic(&dir.join("supervisor.json"), br#"{"processes":{}}"#);
            let _ = files::write_atomic(
                &dir.join(".worker-clean-shutdown"),
                files::iso_now().as_bytes(),
            );
        }
    }
    emit(out, &line("INFO", "SHUTDOWN", "Worker shutdown complete"));
    std::process::exit(code)
}

/// The PID in the data dir's `worker.pid` JSON when a process of that PID exists (even a zombie,
/// as `kill(pid, 0)` sees it) and is not us.
fn recorded_pid_exists(dir: Option<&std::path::Path>, me: u32) -> Option<i32> {
    let path = dir?.join(files::JSON_PID_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let j = files::parse_json_pid(&path, &text).ok()?;
    (j.pid as u32 != me && platform::proc_info(j.pid).is_some()).then_some(j.pid)
}

fn write_v13_files(sh: &Shared) {
    let Some(dir) = &sh.data_dir else { return };
    let token = platform::start_token(sh.pid as i32)
        .map(|t| t.raw())
        .unwrap_or(0);
    let now = files::iso_now();
    let pidfile = format!(
        "{{\n  \"pid\": {},\n  \"port\": {},\n  \"startedAt\": \"{now}\",\n  \"startToken\": \"{token}\"\n}}",
        sh.pid, sh.port
    );
    // A file a worker that just died still holds can refuse the replace for a moment (Windows,
    // Wine under load): try again for up to 2 s, and say so if it never works.
    let path = dir.join(files::JSON_PID_FILE);
    let mut tries = 0;
    while let Err(e) = files::write_atomic(&path, pidfile.as_bytes()) {
        tries += 1;
        if tries == 20 {
            eprintln!("stand-in-worker: cannot write {}: {e}", path.display());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sup = format!(
        "{{\"processes\":{{\"worker\":{{\"pid\":{},\"type\":\"worker\",\"startedAt\":\"{now}\"}}}}}}",
        sh.pid
    );
    let _ = files::write_atomic(&dir.join("supervisor.json"), sup.as_bytes());
}

const SAMPLES: &[(&str, &str, &str)] = &[
    ("DEBUG", "DB", "Query executed {table=observations, rows=12, ms=3}"),
    ("INFO", "HTTP", "GET /api/stats 200 {ms=2}"),
    ("INFO", "SESSION", "[session-42] New prompt received {project=claude-mem}"),
    ("DEBUG", "WORKER", "Queue tick {queueDepth=0, parked=0}"),
    ("INFO", "SESSION", "[session-42] Observation stored {id=1842, type=discovery}"),
    ("WARN", "WORKER", "Claude CLI dependency preflight failed {kind=setup_required} Claude executable not found. Please either:\n1. Add \"claude\" to your system PATH, or\n2. Set CLAUDE_CODE_PATH in ~/.claude-mem/settings.json"),
    ("INFO", "CHROMA_SYNC", "Synced 3 documents {collection=observations}"),
    ("DEBUG", "HTTP", "GET /health 200 {ms=0}"),
    ("ERROR", "CHROMA_SYNC", "Sync failed {attempt=3} Error: connect ECONNREFUSED 127.0.0.1:8000\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"),
    ("RAW", "", "[SessionStore] Migration004 applied successfully"),
    ("INFO", "DB", "Checkpoint complete {wal_pages=128}"),
    ("INFO", "SESSION", "[session-43] Summary generated {tokens=812}"),
];

fn log_loop(out: &Out, rate: f64, port: u16, stop: &AtomicBool) {
    if rate <= 0.0 {
        return;
    }
    let t0 = Instant::now();
    let mut written: u64 = 0;
    let mut i = 0usize;
    let tick = if rate >= 100.0 {
        Duration::from_millis(10)
    } else {
        Duration::from_secs_f64(1.0 / rate)
    };
    while !stop.load(Ordering::Relaxed) {
        let due = (t0.elapsed().as_secs_f64() * rate) as u64 + 1;
        if due > written {
            if let Ok(mut w) = out.lock() {
                let stamp = ts();
                while written < due {
                    let (lvl, comp, msg) = SAMPLES[i % SAMPLES.len()];
                    i += 1;
                    written += 1;
                    let _ = if lvl == "RAW" {
                        writeln!(w, "{msg}")
                    } else if i % SAMPLES.len() == 1 {
                        writeln!(
                            w,
                            "[{stamp}] [{lvl:<5}] [{comp:<6}] {msg} {{seq={written}, port={port}}}"
                        )
                    } else {
                        writeln!(w, "[{stamp}] [{lvl:<5}] [{comp:<6}] {msg}")
                    };
                }
                let _ = w.flush();
            }
        }
        std::thread::sleep(tick);
    }
}

/// Start the three helpers; each logs its PID. They are plain children: a SIGKILL of the worker
/// leaves them running (orphaned), as claude-mem's leak.
fn spawn_helpers(out: &Out, data_dir: Option<&std::path::Path>) -> Vec<std::process::Child> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("claude-mem-top"));
    let dir = data_dir.map_or_else(|| PathBuf::from("."), PathBuf::from);
    let observer = dir.join("observer-sessions").join("1");
    let _ = std::fs::create_dir_all(&observer);
    let vector = dir.join("vector-db").to_string_lossy().into_owned();
    let shapes: [(&str, Vec<&str>, Option<&PathBuf>); 3] = [
        (
            "claude",
            vec![
                "claude",
                "--output-format",
                "stream-json",
                "--verbose",
                "--input-format",
                "stream-json",
            ],
            Some(&observer),
        ),
        (
            "chroma-mcp",
            vec![
                "chroma-mcp",
                "--client-type",
                "persistent",
                "--data-dir",
                &vector,
            ],
            None,
        ),
        ("mcp-server", vec!["mcp-server.cjs"], None),
    ];
    let mut kids = Vec::new();
    for (name, argv, cwd) in shapes {
        let mut c = std::process::Command::new(&exe);
        c.arg("stand-in-helper").args(&argv);
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        match c
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(ch) => {
                emit(
                    out,
                    &line(
                        "INFO",
                        "WORKER",
                        &format!("{name} helper started {{pid={}}}", ch.id()),
                    ),
                );
                kids.push(ch);
            }
            Err(e) => emit(
                out,
                &line("ERROR", "WORKER", &format!("cannot start {name}: {e}")),
            ),
        }
    }
    kids
}

fn handle(mut conn: TcpStream, sh: &Shared, out: &Out) {
    let wedged_now = sh
        .args
        .wedged_after
        .is_some_and(|ms| sh.start.elapsed() >= Duration::from_millis(ms));
    if sh.args.wedged || wedged_now {
        // Hold the connection open and never answer.
        let _keep = conn;
        loop {
            std::thread::park();
        }
    }
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let (method, path) = match head::read_head(&mut conn, 16 * 1024) {
        head::Head::Request { method, target } => (method, target),
        head::Head::TooLarge | head::Head::Closed => return,
    };
    sh.requests.fetch_add(1, Ordering::Relaxed);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let up = sh.start.elapsed().as_secs();
    let v13 = sh.args.mode == Mode::V13;
    if let Ok(mut seen) = sh.seen.lock() {
        if seen.len() < 10_000 {
            seen.push(format!("{method} {path}"));
        }
    }
    let (code, body) = match (method.as_str(), path.as_str()) {
        ("GET", "/api/stand-in/requests") => (
            200,
            serde_json::to_string(&*sh.seen.lock().map_or_else(|_| Vec::new(), |s| s.clone()))
                .unwrap_or_default(),
        ),
        (_, p) if sh.args.bare && p != "/health" => (404, String::new()),
        ("GET", "/health") => {
            if sh.args.health_hang {
                loop {
                    std::thread::park();
                }
            }
            let failing = sh
                .args
                .health_fail_after
                .is_some_and(|ms| sh.start.elapsed() >= Duration::from_millis(ms));
            if sh.args.health_fail || failing {
                (
                    500,
                    r#"{"status":"error","error":"stand-in --health-fail"}"#.to_string(),
                )
            } else {
                (
                    200,
                    format!(
                        r#"{{"status":"ok","timestamp":{now_ms},"activeSessions":0,"pid":{}}}"#,
                        sh.pid
                    ),
                )
            }
        }
        ("GET", "/api/health") => (
            200,
            format!(
                r#"{{"status":"ok","version":"{}","uptime":{up},"pid":{},"initialized":true,"mcpReady":true,"dependencies":{}}}"#,
                sh.version,
                sh.pid,
                dependencies(&sh.args, sh.started_ms)
            ),
        ),
        ("GET", "/api/chroma/status") => {
            let (status, connected, details) = match sh.args.chroma {
                ChromaReport::Healthy => {
                    ("healthy", true, "chroma-mcp is responding to tool calls")
                }
                ChromaReport::Unhealthy => ("unhealthy", false, "chroma-mcp health check failed"),
                ChromaReport::Disabled => (
                    "disabled",
                    false,
                    "Chroma is disabled via CLAUDE_MEM_CHROMA_ENABLED=false",
                ),
            };
            let body = serde_json::json!({
                "status": status,
                "connected": connected,
                "timestamp": files::iso_now(),
                "details": details,
                "deep": false,
            });
            (200, body.to_string())
        }
        ("GET", "/api/readiness") => (200, r#"{"status":"ready"}"#.into()),
        ("GET", "/api/version") => (200, format!(r#"{{"version":"{}"}}"#, sh.version)),
        ("GET", "/api/stats") => {
            let db = sh.data_dir.as_ref().map(|d| d.join("claude-mem.db"));
            let size = db
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len());
            (
                200,
                format!(
                    r#"{{"worker":{{"version":"{}","uptime":{up},"activeSessions":1,"sseClients":{},"port":{}}},"database":{{"path":{},"size":{size},"observations":1842,"sessions":97,"summaries":88,"firstObservationAt":"2026-01-04T09:12:00.000Z"}}}}"#,
                    sh.version,
                    sh.sse.count(),
                    sh.port,
                    serde_json::to_string(&db.map(|p| p.display().to_string()).unwrap_or_default())
                        .unwrap_or_default()
                ),
            )
        }
        ("GET", "/api/processing-status") => {
            let depth = (sh.requests.load(Ordering::Relaxed) / 7) % 4;
            (
                200,
                format!(
                    r#"{{"isProcessing":{},"queueDepth":{depth},"parkedSessions":0}}"#,
                    depth > 0
                ),
            )
        }
        ("GET", "/stream") => {
            let unready = sh
                .args
                .stream_unready
                .is_some_and(|ms| sh.start.elapsed() < Duration::from_millis(ms));
            if unready {
                (503, r#"{"error":"Service initializing"}"#.to_string())
            } else {
                sh.sse.serve(conn, "stand-in-project");
                return;
            }
        }
        ("POST", p) if p.starts_with("/api/stand-in/") => {
            let kind = &p["/api/stand-in/".len()..];
            match sh.sse.sample(kind, "stand-in-project") {
                Some(frame) => {
                    sh.sse.broadcast(frame);
                    (
                        200,
                        format!(r#"{{"sent":"{kind}","clients":{}}}"#, sh.sse.count()),
                    )
                }
                None => (404, String::new()),
            }
        }
        ("POST", "/api/admin/shutdown") if v13 => {
            let _ = write_response(&mut conn, 200, r#"{"status":"shutting_down"}"#);
            shutdown(out, sh, "Shutdown requested via /api/admin/shutdown", 0);
        }
        _ => (404, String::new()),
    };
    let _ = write_response(&mut conn, code, &body);
}

fn write_response(conn: &mut TcpStream, code: u16, body: &str) -> std::io::Result<()> {
    let (reason, ctype, body) = match code {
        200 => ("OK", "application/json", body.to_string()),
        503 => ("Service Unavailable", "application/json", body.to_string()),
        404 => (
            "Not Found",
            "text/html",
            "<!DOCTYPE html><html><body><pre>Cannot GET</pre></body></html>".to_string(),
        ),
        _ => (
            "Internal Server Error",
            "application/json",
            body.to_string(),
        ),
    };
    let resp = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(resp.as_bytes())?;
    conn.flush()
}
