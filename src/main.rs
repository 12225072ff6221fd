use std::process::ExitCode;

use clap::Parser;

use claude_mem_top::app;
use claude_mem_top::cli::{
    Cli, Command, CompletionsArgs, ConfigArgs, Deferred, DemoArgs, DoctorArgs, EnsureArgs, Format,
    HistoryArgs, LogsArgs, ManArgs, PsArgs, QueueArgs, ReapArgs, RestartArgs, SearchArgs,
    ServeMetricsArgs, SettingsArgs, StandInChildArgs, StartArgs, StatusArgs, StopArgs,
};
use claude_mem_top::commands::{self, Fail, Res};

fn main() -> ExitCode {
    // Hidden helper processes first: they must start fast and never touch color-eyre.
    let cli = Cli::parse();
    if let Some(Command::StandInWorker(Deferred(args))) = &cli.command {
        // `--port` is the global option (one definition: clap refuses two of one name).
        let mut args = args.clone();
        if let Some(p) = &cli.global.port {
            match claude_mem_top::procman::files::parse_port(p) {
                Ok(port) => args.port = Some(port),
                Err(_) => {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "stand-in-worker: Invalid port {p}: use an integer from 1024 to 65535"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        return ExitCode::from(claude_mem_top::worker::main(args));
    }
    if let Some(Command::StandInChild(Deferred(StandInChildArgs { ignore_sigterm }))) = &cli.command
    {
        claude_mem_top::worker::child_main(*ignore_sigterm);
    }
    if let Some(Command::StandInHelper(_)) = &cli.command {
        claude_mem_top::worker::child_main(false);
    }
    let _ = color_eyre::install();
    // Not eprintln!: with the terminal gone (SIGHUP) it would panic.
    use std::io::Write;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Edge::Fail(Fail { code, msg })) => {
            let _ = writeln!(std::io::stderr(), "claude-mem-top: {msg}");
            ExitCode::from(code)
        }
        Err(Edge::Unexpected(report)) => {
            let _ = writeln!(std::io::stderr(), "claude-mem-top: {report:?}");
            ExitCode::FAILURE
        }
    }
}

/// How a run failed. An expected failure (bad input, a refusal, a worker that will not start)
/// is one line and its documented exit code; anything else is color-eyre's report, exit 1.
enum Edge {
    Fail(Fail),
    Unexpected(color_eyre::Report),
}

impl From<Fail> for Edge {
    fn from(f: Fail) -> Edge {
        Edge::Fail(f)
    }
}

fn run(cli: Cli) -> Result<u8, Edge> {
    if let Some(opt) = cli.top_level_misused() {
        return Err(Edge::Fail(Fail {
            code: 2,
            msg: format!(
                "{opt} does nothing here: it belongs to {} (`claude-mem-top --help` lists them)",
                match (cli.command.is_none(), opt) {
                    (true, _) => "the dashboard, not to --once",
                    (false, "--config" | "--no-mouse" | "--interval") => {
                        "the dashboard (no command), not to a command"
                    }
                    (false, _) => "the dashboard and --once, not to a command",
                }
            ),
        }));
    }
    // Commands that read no data dir, port or worker refuse those options rather than ignore them.
    if matches!(
        cli.command,
        Some(Command::Completions(_)) | Some(Command::Man(_)) | Some(Command::Config(_))
    ) {
        if let Some(opt) = unused_global(&cli, true) {
            return Err(Edge::Fail(Fail {
                code: 2,
                msg: format!("{opt} does nothing for this command: drop it"),
            }));
        }
    }
    // `settings` reads claude-mem's own settings: its data dir may be given, nothing else.
    if matches!(cli.command, Some(Command::Settings(_))) {
        if let Some(opt) = unused_global(&cli, false) {
            return Err(Edge::Fail(Fail {
                code: 2,
                msg: format!(
                    "{opt} does nothing for settings (it shows claude-mem's own port): drop it"
                ),
            }));
        }
    }
    if cli.command.is_none() && !cli.once {
        return dashboard(&commands::load_config(&cli.global)?, &cli);
    }
    Ok(command(cli)?)
}

/// The first of `--data-dir` (when `data_dir` counts), `--port` and `--worker-cmd` given: for
/// the commands that do not use them.
fn unused_global(cli: &Cli, data_dir: bool) -> Option<&'static str> {
    let g = &cli.global;
    [
        (data_dir && g.data_dir.is_some(), "--data-dir"),
        (g.port.is_some(), "--port"),
        (g.worker_cmd.is_some(), "--worker-cmd"),
    ]
    .into_iter()
    .find_map(|(given, name)| given.then_some(name))
}

fn command(cli: Cli) -> Res {
    // Commands that print and end: `status | head -1` ends them quietly. The long-lived ones
    // (supervise, serve-metrics, demo) keep Rust's default and see write errors instead.
    if !matches!(
        cli.command,
        Some(Command::Supervise(_)) | Some(Command::ServeMetrics(_)) | Some(Command::Demo(_))
    ) {
        claude_mem_top::platform::quiet_on_closed_pipe();
    }
    let fmt = |f: Format, json: bool| if json { Format::Json } else { f };
    let cfg = || commands::load_config(&cli.global);
    match &cli.command {
        None => commands::once(
            &cfg()?,
            fmt(cli.format, cli.json),
            cli.stall_after.unwrap_or(STALL_AFTER),
        ),
        Some(Command::Status(Deferred(StatusArgs {
            format,
            json,
            stall_after,
        }))) => commands::status(&cfg()?, fmt(*format, *json), *stall_after),
        Some(Command::Start(Deferred(StartArgs { timeout }))) => commands::start(&cfg()?, *timeout),
        Some(Command::Stop(Deferred(StopArgs { grace }))) => commands::stop(&cfg()?, *grace),
        Some(Command::Restart(Deferred(RestartArgs { timeout, grace }))) => {
            commands::restart(&cfg()?, *timeout, *grace)
        }
        Some(Command::Ensure(Deferred(EnsureArgs { timeout }))) => {
            commands::ensure(&cfg()?, *timeout)
        }
        Some(Command::Logs(Deferred(LogsArgs {
            grep: Some(pattern),
            fixed_strings,
            since,
            json,
            level,
            ..
        }))) => {
            claude_mem_top::grep::command(&cfg()?, pattern, *fixed_strings, *since, *level, *json)
        }
        Some(Command::Logs(Deferred(LogsArgs {
            lines,
            follow,
            level,
            ..
        }))) => commands::logs(&cfg()?, *lines, *follow, *level),
        Some(Command::Migrate) => commands::migrate(&cfg()?),
        Some(Command::History(Deferred(HistoryArgs { since, json }))) => {
            claude_mem_top::history::command(&cfg()?, *since, *json)
        }
        Some(Command::Doctor(Deferred(DoctorArgs { json, stall_after }))) => {
            commands::doctor(&cli.global, *json, *stall_after)
        }
        Some(Command::Supervise(Deferred(args))) => commands::supervise(&cfg()?, args),
        Some(Command::ServeMetrics(Deferred(ServeMetricsArgs {
            listen,
            allow_remote,
            stall_after,
        }))) => commands::serve_metrics(&cfg()?, listen, *allow_remote, *stall_after),
        Some(Command::Completions(Deferred(CompletionsArgs { shell }))) => {
            commands::completions(*shell)
        }
        Some(Command::Man(Deferred(ManArgs { dir }))) => commands::man(dir.as_deref()),
        Some(Command::Demo(Deferred(DemoArgs {
            keep,
            interval,
            dash,
        }))) => {
            let g = &cli.global;
            if g.data_dir.is_some() || g.port.is_some() || g.worker_cmd.is_some() {
                return Err(Fail {
                    code: 2,
                    msg:
                        "demo makes its own temporary data dir, port and worker: drop --data-dir, \
                          --port and --worker-cmd (or run `claude-mem-top --data-dir DIR` for the \
                          dashboard on a real data dir)"
                            .into(),
                });
            }
            let opts = dash_opts(&cli, dash, *interval)?;
            claude_mem_top::app::demo::run(*keep, opts).map_err(|e| Fail {
                code: e.exit_code(),
                msg: e.to_string(),
            })
        }
        Some(Command::Config(Deferred(ConfigArgs { default, config }))) => {
            config_cmd(config.as_deref(), *default)
        }
        Some(Command::Settings(Deferred(SettingsArgs { json }))) => {
            claude_mem_top::inspect::settings(cli.global.data_dir.clone(), *json)
        }
        Some(Command::Search(Deferred(SearchArgs {
            query,
            project,
            kind,
            since,
            limit,
            source,
            json,
        }))) => {
            let q = claude_mem_top::procman::search::Query {
                text: query.clone(),
                project: project.clone(),
                scope: kind
                    .as_deref()
                    .map(claude_mem_top::procman::search::Scope::parse)
                    .unwrap_or_default(),
                since_ms: since.map(since_ms),
                limit: *limit as usize,
            };
            claude_mem_top::inspect::search(&cfg()?, *source, &q, *json)
        }
        Some(Command::Queue(Deferred(QueueArgs { stall_after, json }))) => {
            claude_mem_top::inspect::queue(&cfg()?, *stall_after, *json)
        }
        Some(Command::Ps(Deferred(PsArgs { json, all }))) => commands::ps(&cfg()?, *json, *all),

        Some(Command::Adopt) => commands::adopt(&cfg()?),
        Some(Command::Reap(Deferred(ReapArgs {
            dry_run,
            grace,
            json,
        }))) => commands::reap(&cfg()?, *dry_run, *grace, *json),
        Some(Command::StandInWorker(_))
        | Some(Command::StandInChild(_))
        | Some(Command::StandInHelper(_)) => Ok(0),
    }
}

/// `--since` as milliseconds since the epoch (a local time through the current UTC offset).
fn since_ms(s: claude_mem_top::procman::history::Since) -> i64 {
    let now = claude_mem_top::platform::local_now();
    let at = s.resolve(now.naive_local());
    let offset = i64::from(now.offset().local_minus_utc());
    (at.and_utc().timestamp() - offset) * 1000 + i64::from(at.and_utc().timestamp_subsec_millis())
}

/// `--stall-after`'s default.
const STALL_AFTER: std::time::Duration = std::time::Duration::from_secs(30 * 60);

fn ui_config(
    file: Option<&std::path::Path>,
) -> Result<claude_mem_top::app::config::UiConfig, Fail> {
    claude_mem_top::app::config::load(file).map_err(|e| Fail {
        code: 2,
        msg: e.to_string(),
    })
}

fn config_cmd(file: Option<&std::path::Path>, default: bool) -> Res {
    use std::io::Write;
    if default {
        let _ = std::io::stdout().write_all(claude_mem_top::app::config::default_file().as_bytes());
        return Ok(0);
    }
    let c = ui_config(file)?;
    let msg = match (&c.path, claude_mem_top::app::config::default_path()) {
        (Some(p), _) => format!("{}: OK", p.display()),
        (None, Some(p)) => format!("{}: not there; the defaults apply", p.display()),
        (None, None) => "no config directory; the defaults apply".to_string(),
    };
    let _ = writeln!(std::io::stdout(), "{msg}");
    Ok(0)
}

fn dash_opts(
    cli: &Cli,
    dash: &claude_mem_top::cli::DashArgs,
    interval: Option<std::time::Duration>,
) -> Result<app::Options, Fail> {
    let ui = ui_config(dash.config.as_deref())?;
    let interval = interval
        .or(ui.interval)
        .unwrap_or(std::time::Duration::from_secs(1));
    let no_color =
        cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut o = app::Options::new(
        interval.max(std::time::Duration::from_millis(100)),
        !no_color,
    );
    o.keys = ui.keys;
    o.palette = ui.palette;
    o.mouse = !dash.no_mouse && ui.mouse.unwrap_or(true);
    o.stall_after = cli.stall_after.unwrap_or(STALL_AFTER);
    Ok(o)
}

fn dashboard(cfg: &claude_mem_top::config::Config, cli: &Cli) -> Result<u8, Edge> {
    let opts = dash_opts(cli, &cli.dash, cli.interval)?;
    match app::run(cfg, opts) {
        Ok(code) => Ok(code),
        Err(e @ (app::RunError::NotATerminal | app::RunError::DumbTerminal)) => {
            Err(Edge::Fail(Fail {
                code: 2,
                msg: e.to_string(),
            }))
        }
        // The terminal failed under a running dashboard: not something the user did wrong.
        Err(app::RunError::Io(e)) => Err(Edge::Unexpected(
            color_eyre::Report::new(e).wrap_err("the dashboard's terminal failed"),
        )),
    }
}
