//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::worker::StandInArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// Prometheus text exposition (for node_exporter's textfile collector)
    Prometheus,
}

#[derive(Debug, Parser)]
#[command(
    name = "claude-mem-top",
    version,
    about = "A live dashboard and process manager for the claude-mem worker",
    long_about = "A live dashboard and process manager for the claude-mem worker.\n\nWithout a command it opens the dashboard; `--once` prints one status snapshot instead.",
    after_help = "Examples:\n  claude-mem-top                     open the dashboard\n  claude-mem-top demo                try it with a built-in stand-in worker\n  claude-mem-top --once --json       one status snapshot for scripts\n  claude-mem-top start               start the worker (no-op if healthy)\n  claude-mem-top logs -f --level warn"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(flatten)]
    pub dash: DashArgs,

    /// Print one status snapshot and exit (exit code as `status`)
    #[arg(long)]
    pub once: bool,
    /// Output format for --once
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Short for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Dashboard sampling interval for health and resources [default: config.toml, else 1s]
    #[arg(long, value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub interval: Option<std::time::Duration>,
    /// Prompts but no new observation for this long: STALLED (dashboard and --once) [default: 30m]
    #[arg(long, value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub stall_after: Option<std::time::Duration>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Data directory [env: CLAUDE_MEM_DATA_DIR] [default: ~/.claude-mem]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Worker port [env: CLAUDE_MEM_WORKER_PORT] [default: settings.json, else 37777; on
    /// claude-mem 13.x 37700 + uid % 100]
    #[arg(long, global = true, value_name = "PORT")]
    pub port: Option<String>,
    /// Worker command, split by shell-word rules [env: CLAUDE_MEM_TOP_WORKER_CMD]
    /// [default: bun ~/.claude/plugins/marketplaces/thedotmack/plugin/scripts/worker-service.cjs]
    #[arg(long, global = true, value_name = "CMD")]
    pub worker_cmd: Option<String>,
    /// Monochrome output (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// The dashboard's own options (the dashboard and `demo`; `config` takes `--config` too).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DashArgs {
    /// The dashboard's config file [default: $XDG_CONFIG_HOME/claude-mem-top/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The dashboard leaves the mouse to the terminal (no wheel scrolling or click to focus)
    #[arg(long)]
    pub no_mouse: bool,
}

impl Cli {
    /// The options that belong to the dashboard and `--once` (before any command), given with
    /// a command (or the dashboard's own with `--once`): named, so they are refused (exit 2)
    /// instead of ignored.
    pub fn top_level_misused(&self) -> Option<&'static str> {
        if self.command.is_none() {
            // `--once` prints one snapshot: the dashboard's own options do nothing there.
            return [
                (self.once && self.interval.is_some(), "--interval"),
                (self.once && self.dash.config.is_some(), "--config"),
                (self.once && self.dash.no_mouse, "--no-mouse"),
            ]
            .into_iter()
            .find_map(|(given, name)| given.then_some(name));
        }
        [
            (self.once, "--once"),
            (self.json, "--json"),
            (self.format != Format::Text, "--format"),
            (self.interval.is_some(), "--interval"),
            (self.stall_after.is_some(), "--stall-after"),
            (self.dash.config.is_some(), "--config"),
            (self.dash.no_mouse, "--no-mouse"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the worker (no-op if it is already healthy)
    #[command(after_help = "Example:\n  claude-mem-top start --timeout 20s")]
    Start(Deferred<StartArgs>),
    /// Stop the worker: SIGTERM, then SIGKILL after the grace period
    #[command(after_help = "Example:\n  claude-mem-top stop --grace 2s")]
    Stop(Deferred<StopArgs>),
    /// Stop then start, holding the lock throughout
    #[command(after_help = "Example:\n  claude-mem-top restart")]
    Restart(Deferred<RestartArgs>),
    /// Show the three health layers (exit 0 healthy, 1 stale, 3 stopped, 4 unknown, 150 unhealthy, 151 unmanaged, 152 taken by another's worker)
    #[command(
        after_help = "Examples:\n  claude-mem-top status\n  claude-mem-top status --json | jq .state"
    )]
    Status(Deferred<StatusArgs>),
    /// Print the newest dated log, or search every day's log (--grep)
    #[command(
        after_help = "--grep reads every dated log of the data dir (worker-*.log and claude-mem-*.log),\noldest first, a block at a time: a match is printed as its whole entry, each line as\nFILE:LINE:text (the matching lines) or FILE-LINE-text (the rest of the entry). Exit\nstatus with --grep: 0 a match, 1 none, 2 a bad pattern.\n\nExamples:\n  claude-mem-top logs --lines 200\n  claude-mem-top logs --follow --level warn\n  claude-mem-top logs --grep 'worker started' --since 3d\n  claude-mem-top logs --grep 'SIGKILL|OOM' --level warn --json | jq .file"
    )]
    Logs(Deferred<LogsArgs>),
    /// List the worker's runs from its own logs: PID, version, start, end, uptime, and how each
    /// ended (clean, unclean, replaced, running)
    #[command(
        after_help = "Works whether or not the worker runs; reads every dated log of the data dir (both\nlayouts) backwards in blocks, and changes nothing. An unclean end shows the run's last\nlog lines. Exit status: 0, or 1 when there is no log to read.\n\nExamples:\n  claude-mem-top history\n  claude-mem-top history --since 2d\n  claude-mem-top history --since 2026-12-01 --json | jq '.runs[] | select(.end != \"clean\")'"
    )]
    History(Deferred<HistoryArgs>),
    /// For hooks: start the worker unless it is healthy; prints nothing on stdout
    #[command(
        after_help = "Example (a hook):\n  claude-mem-top ensure || echo 'worker unavailable' >&2"
    )]
    Ensure(Deferred<EnsureArgs>),
    /// Run the PM2 cleanup (`pm2 delete claude-mem-worker`) now
    #[command(after_help = "Example:\n  claude-mem-top migrate")]
    Migrate,
    /// Check the setup: bun, worker script, data dir, settings, port, stale files, PM2 leftovers, DB, logs, clock
    #[command(
        after_help = "Exit status: 0 if no check failed, 1 otherwise (warnings do not fail).\n\nExamples:\n  claude-mem-top doctor\n  claude-mem-top doctor --json | jq '.checks[] | select(.status != \"ok\")'"
    )]
    Doctor(Deferred<DoctorArgs>),
    /// Run the worker in the foreground and restart it when it dies or stays unhealthy
    #[command(
        after_help = "Backoff: 1s, doubling to 60s, reset after --reset-after of health. More than\n--max-restarts restarts within --window: FATAL, exit 1. `claude-mem-top stop` (or the\ndashboard's stop) is not a crash: the worker stays stopped until started again.\nCtrl-C / SIGTERM stop the worker and the supervisor. Every restart is logged, with its\nreason, in logs/worker-YYYY-MM-DD.log.\n\nExamples:\n  claude-mem-top supervise\n  claude-mem-top supervise --restart always --max-restarts 10 --window 5m"
    )]
    Supervise(Deferred<crate::supervise::SuperviseArgs>),
    /// Serve Prometheus metrics on http://LISTEN/metrics (loopback only unless --allow-remote)
    #[command(
        after_help = "Examples:\n  claude-mem-top serve-metrics\n  claude-mem-top serve-metrics --listen 127.0.0.1:9477\n  curl -s http://127.0.0.1:9477/metrics"
    )]
    ServeMetrics(Deferred<ServeMetricsArgs>),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  claude-mem-top completions bash > ~/.local/share/bash-completion/completions/claude-mem-top\n  claude-mem-top completions zsh > \"${fpath[1]}/_claude-mem-top\"\n  claude-mem-top completions fish > ~/.config/fish/completions/claude-mem-top.fish"
    )]
    Completions(Deferred<CompletionsArgs>),
    /// Print the man page (roff)
    #[command(
        after_help = "Examples:\n  claude-mem-top man | man -l -\n  claude-mem-top man --dir /usr/local/share/man/man1"
    )]
    Man(Deferred<ManArgs>),
    /// The dashboard on a temporary data dir with a built-in stand-in worker
    #[command(
        after_help = "The demo makes its own temporary data dir and picks a free port: --data-dir,\n--port and --worker-cmd are refused here (use `claude-mem-top --data-dir DIR` for the\ndashboard on a real data dir).\n\nExample:\n  claude-mem-top demo"
    )]
    Demo(Deferred<DemoArgs>),
    /// Check the dashboard's config.toml, or print a commented default one
    #[command(
        after_help = "The file: $XDG_CONFIG_HOME/claude-mem-top/config.toml, else\n~/.config/claude-mem-top/config.toml (%APPDATA%\\claude-mem-top\\config.toml on Windows),\nor --config FILE. Sections: [keys] (command = \"key\"), [colors], [dashboard].\n\nExamples:\n  claude-mem-top config --default > ~/.config/claude-mem-top/config.toml\n  claude-mem-top config"
    )]
    Config(Deferred<ConfigArgs>),
    /// Every setting claude-mem reads, with its value and where it comes from (env, the exact
    /// settings.json, or the default); secrets masked, unknown keys and bad values flagged
    #[command(
        after_help = "Resolved as claude-mem 13.25.3 does: the environment over settings.json (flat, or nested\nunder \"env\"; a BOM is fine) over its defaults. Reads files only; exit status 0.\n\nExamples:\n  claude-mem-top settings\n  claude-mem-top settings --json | jq '.[] | select(.key == \"CLAUDE_MEM_WORKER_PORT\")'"
    )]
    Settings(Deferred<SettingsArgs>),
    /// Search what the worker remembers: observations, summaries and prompts whose text or
    /// title match, newest first
    #[command(
        after_help = "Asks the worker's own search (GET /api/search) when it runs, else reads the database\nread-only (its FTS5 tables, or LIKE where a version has none). Exit status: 0 (also for\nno match), 1 no database to read, 7 --source worker and no worker answers.\n\nExamples:\n  claude-mem-top search login\n  claude-mem-top search \"token expiry\" --project web --since 7d\n  claude-mem-top search migration --json | jq '.[].title'"
    )]
    Search(Deferred<SearchArgs>),
    /// The processing queue, oldest first, what is stuck, and the observer's and hooks' failures
    #[command(
        after_help = "Reads pending_messages (read-only), observer-health.json and state/hook-failures.json.\nA message waiting longer than --stall-after is marked STUCK. Changes nothing. Exit status:\n0, or 1 when a message is stuck.\n\nExamples:\n  claude-mem-top queue\n  claude-mem-top queue --stall-after 2m --json"
    )]
    Queue(Deferred<QueueArgs>),
    /// List every claude-mem process: workers (also unmanaged, other versions, duplicates,
    /// wedged), their helpers and orphaned helpers, like `pm2 ls`
    #[command(
        after_help = "Classes: worker (named by the PID file), unmanaged (answers the port, no valid PID file),
other-version, duplicate (a second worker for the data dir), wedged (accepts TCP, no HTTP
answer), other-data-dir (--all), helper, orphaned (its worker is gone).

Examples:
  claude-mem-top ps
  claude-mem-top ps --all --json"
    )]
    Ps(Deferred<PsArgs>),
    /// Record the claude-mem worker that answers the port when the PID file is missing or
    /// stale, so hooks and `stop` see it again
    Adopt,
    /// End this data dir's orphaned helpers (proven by command line, start time and their tie
    /// to the data dir); never a worker, never another user's process
    #[command(after_help = "Examples:
  claude-mem-top reap --dry-run
  claude-mem-top reap")]
    Reap(Deferred<ReapArgs>),
    /// The built-in stand-in worker (for tests and the demo)
    #[command(hide = true)]
    StandInWorker(Deferred<StandInArgs>),
    /// A child process of the stand-in worker
    #[command(hide = true)]
    StandInChild(Deferred<StandInChildArgs>),
    /// A helper of the stand-in worker, shaped like claude-mem's (its arguments only show)
    #[command(hide = true)]
    StandInHelper(Deferred<StandInHelperArgs>),
}

// Each command's arguments, behind `Deferred` in `Command`: the command's help text is its
// variant's doc comment there.
#[derive(Debug, Clone, clap::Args)]
pub struct StartArgs {
    /// How long to wait for GET /health 200
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// How long to wait after SIGTERM before SIGKILL
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RestartArgs {
    /// How long the new worker may take to answer GET /health 200
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub timeout: std::time::Duration,
    /// How long to wait after SIGTERM before SIGKILL when stopping the old worker
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Short for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Prompts but no new observation for this long: STALLED
    #[arg(long, default_value = "30m", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub stall_after: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// How many lines
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: usize,
    /// Keep printing new lines (follows the next day's file, survives truncation)
    #[arg(short, long, conflicts_with = "grep")]
    pub follow: bool,
    /// Minimum level: debug, info, warn, error (multi-line entries stay whole)
    #[arg(long, value_enum, ignore_case = true)]
    pub level: Option<crate::logs::Level>,
    /// Search every day's log for PATTERN (a regular expression; case-insensitive unless
    /// it holds an upper-case letter)
    #[arg(long, value_name = "PATTERN")]
    pub grep: Option<String>,
    /// With --grep: PATTERN is a plain string, not a regular expression
    #[arg(short = 'F', long, requires = "grep")]
    pub fixed_strings: bool,
    /// With --grep: only entries stamped since then: a duration ago (2d, 12h, 30m, 1w) or
    /// a local date or time (2026-12-01, "2026-12-01 08:00")
    #[arg(long, value_name = "WHEN", requires = "grep", value_parser = crate::procman::history::Since::parse)]
    pub since: Option<crate::procman::history::Since>,
    /// With --grep: one JSON object a line per matching entry
    /// ({file, date, line, offset, level, time, lines, more_lines})
    #[arg(long, requires = "grep")]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// Only runs that started since then: a duration ago (2d, 12h, 30m, 1w) or a local
    /// date or time (2026-12-01, "2026-12-01 08:00")
    #[arg(long, value_name = "WHEN", value_parser = crate::procman::history::Since::parse)]
    pub since: Option<crate::procman::history::Since>,
    /// JSON output: {runs, summary, flapping, logs, notes}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EnsureArgs {
    /// How long a started worker may take to answer GET /health 200
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// JSON output (schema: assets/doctor.schema.json)
    #[arg(long)]
    pub json: bool,
    /// Prompts but no new observation for this long: STALLED
    #[arg(long, default_value = "30m", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub stall_after: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeMetricsArgs {
    /// Address to listen on (port 0 picks a free one; the address is printed)
    #[arg(long, default_value = crate::metrics::DEFAULT_LISTEN, value_name = "HOST:PORT")]
    pub listen: String,
    /// Allow a non-loopback --listen address (metrics reveal paths and versions)
    #[arg(long)]
    pub allow_remote: bool,
    /// Prompts but no new observation for this long: STALLED
    #[arg(long, default_value = "30m", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub stall_after: std::time::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Write one page per command (claude-mem-top.1, claude-mem-top-start.1, …) into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep the temporary data dir afterwards
    #[arg(long)]
    pub keep: bool,
    /// Dashboard sampling interval for health and resources [default: config.toml, else 1s]
    #[arg(long, value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub interval: Option<std::time::Duration>,
    #[command(flatten)]
    pub dash: DashArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Print the default file, every setting commented
    #[arg(long)]
    pub default: bool,
    /// The file to check [default: $XDG_CONFIG_HOME/claude-mem-top/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SettingsArgs {
    /// JSON output: a list of {key, value, origin, secret, problem}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The words to find (as one phrase, like claude-mem's own search)
    pub query: String,
    /// Only this project
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// observation, summary, prompt, or an observation type (discovery, bugfix, decision, …)
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only since then: a duration ago (2d, 12h, 30m, 1w) or a local date or time
    #[arg(long, value_name = "WHEN", value_parser = crate::procman::history::Since::parse)]
    pub since: Option<crate::procman::history::Since>,
    /// At most this many items
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Where to search: auto (the worker, else the database), worker, db
    #[arg(long, default_value = "auto", value_name = "SOURCE", value_parser = crate::procman::search::Source::parse)]
    pub source: crate::procman::search::Source,
    /// JSON output: a list of items
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// A message waiting this long is STUCK
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub stall_after: std::time::Duration,
    /// JSON output (schema: assets/queue.schema.json)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PsArgs {
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// Every data dir on the host, not only this one
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReapArgs {
    /// List what would be ended, signal nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long each helper gets after SIGTERM before SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = crate::config::duration_arg)]
    pub grace: std::time::Duration,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StandInChildArgs {
    #[arg(long)]
    pub ignore_sigterm: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StandInHelperArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub shape: Vec<String>,
}

/// A command's arguments, added to the command tree only when that command is parsed (or when
/// help, completions or man pages build the whole tree). Every start builds the tree before it
/// parses: with the 27 commands' arguments built at once, clap took ~0.3 ms and a hundred page
/// faults of a `status` run, whose budget is twice a program that sends one request.
#[derive(Debug, Clone)]
pub struct Deferred<T>(pub T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Deferred<T> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Deferred)
    }

    fn from_arg_matches_mut(m: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }

    fn update_from_arg_matches_mut(&mut self, m: &mut clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

impl<T: clap::Args> clap::Args for Deferred<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(|c| keep_about(c, T::augment_args))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(|c| keep_about(c, T::augment_args_for_update))
    }
}

/// `add` the arguments to `cmd`, keeping its about texts: a flattened struct's doc comment
/// (`DashArgs` in `demo`) would replace the command's own, set before the deferred part ran.
fn keep_about(cmd: clap::Command, add: fn(clap::Command) -> clap::Command) -> clap::Command {
    let (about, long) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let mut cmd = add(cmd);
    if let Some(a) = about {
        cmd = cmd.about(a);
    }
    if let Some(a) = long {
        cmd = cmd.long_about(a);
    }
    cmd
}

/// The command tree without hidden commands (the stand-in worker): clap_complete and clap_mangen
/// would list them otherwise.
pub fn public_command() -> clap::Command {
    public_without(&[])
}

/// For the man pages: also without the generated `help` command (a page per command already).
pub fn man_command() -> clap::Command {
    public_without(&["help"])
}

fn public_without(also: &[&str]) -> clap::Command {
    use clap::CommandFactory;
    let mut root = Cli::command();
    root.build();
    let hidden: Vec<String> = root
        .get_subcommands()
        .filter(|c| c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .chain(also.iter().map(|s| s.to_string()))
        .collect();
    strip_hidden(&root, &hidden, true)
}

fn strip_hidden(c: &clap::Command, hidden: &[String], root: bool) -> clap::Command {
    // clap takes &'static names unless its "string" feature is on; this runs once per process.
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let mut out = clap::Command::new(leak(c.get_name()))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(a) = c.get_about() {
        out = out.about(a.clone());
    }
    if let Some(a) = c.get_long_about() {
        out = out.long_about(a.clone());
    }
    if let Some(a) = c.get_after_help() {
        out = out.after_help(a.clone());
    }
    if let Some(v) = c.get_version() {
        out = out.version(leak(v));
    }
    if let Some(b) = c.get_bin_name() {
        out = out.bin_name(leak(b));
    }
    // Global arguments were copied into every subcommand by build(); keep them on the root only,
    // the next build propagates them again.
    for a in c.get_arguments().filter(|a| root || !a.is_global_set()) {
        out = out.arg(a.clone());
    }
    for s in c
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && !hidden.iter().any(|h| h == s.get_name()))
    {
        out = out.subcommand(strip_hidden(s, hidden, false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_tree_is_sound_and_each_command_keeps_its_own_about() {
        Cli::command().debug_assert();
        let unbuilt = Cli::command();
        let mut built = Cli::command();
        built.build();
        for sub in unbuilt.get_subcommands() {
            let b = built
                .find_subcommand(sub.get_name())
                .expect("the same commands");
            assert_eq!(b.get_about(), sub.get_about(), "{}", sub.get_name());
            assert_eq!(
                b.get_long_about(),
                sub.get_long_about(),
                "{}",
                sub.get_name()
            );
        }
        let demo = built.find_subcommand("demo").expect("demo");
        assert!(demo.get_about().is_some_and(|a| a
            .to_string()
            .starts_with("The dashboard on a temporary data dir")));
        // The arguments are there once built: `status --format`, `logs --grep`.
        for (sub, arg) in [("status", "format"), ("logs", "grep"), ("demo", "no_mouse")] {
            let c = built.find_subcommand(sub).expect("command");
            assert!(c.get_arguments().any(|a| a.get_id() == arg), "{sub} {arg}");
        }
    }
}
