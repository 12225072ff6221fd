//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::worker::StandInArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
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

    /// Print one status snapshot and exit (exit code as `status`)
    #[arg(long)]
    pub once: bool,
    /// Output format for --once
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Short for --format json
    #[arg(long)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Data directory [env: CLAUDE_MEM_DATA_DIR] [default: ~/.claude-mem]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Worker port [env: CLAUDE_MEM_WORKER_PORT] [default: settings.json, else 37777]
    #[arg(long, global = true, value_name = "PORT")]
    pub port: Option<String>,
    /// Worker command, split by shell-word rules [env: CLAUDE_MEM_TOP_WORKER_CMD]
    /// [default: bun ~/.claude/plugins/marketplaces/thedotmack/plugin/scripts/worker-service.cjs]
    #[arg(long, global = true, value_name = "CMD")]
    pub worker_cmd: Option<String>,
    /// Monochrome output (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Dashboard sampling interval for health and resources
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s")]
    pub interval: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the worker (no-op if it is already healthy)
    #[command(after_help = "Example:\n  claude-mem-top start --timeout 20s")]
    Start {
        /// How long to wait for GET /health 200
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        timeout: String,
    },
    /// Stop the worker: SIGTERM, then SIGKILL after the grace period
    #[command(after_help = "Example:\n  claude-mem-top stop --grace 2s")]
    Stop {
        /// How long to wait after SIGTERM before SIGKILL
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        grace: String,
    },
    /// Stop then start, holding the lock throughout
    #[command(after_help = "Example:\n  claude-mem-top restart")]
    Restart {
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        timeout: String,
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        grace: String,
    },
    /// Show the three health layers (exit 0 healthy, 1 stale, 3 stopped, 4 unknown, 150 unhealthy, 151 unmanaged)
    #[command(
        after_help = "Examples:\n  claude-mem-top status\n  claude-mem-top status --json | jq .state"
    )]
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Short for --format json
        #[arg(long)]
        json: bool,
    },
    /// Print the newest dated log
    #[command(
        after_help = "Examples:\n  claude-mem-top logs --lines 200\n  claude-mem-top logs --follow --level warn"
    )]
    Logs {
        /// How many lines
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: usize,
        /// Keep printing new lines (follows the next day's file, survives truncation)
        #[arg(short, long)]
        follow: bool,
        /// Minimum level: debug, info, warn, error (multi-line entries stay whole)
        #[arg(long)]
        level: Option<String>,
    },
    /// For hooks: start the worker unless it is healthy; prints nothing on stdout
    #[command(
        after_help = "Example (a hook):\n  claude-mem-top ensure || echo 'worker unavailable' >&2"
    )]
    Ensure {
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        timeout: String,
    },
    /// Run the PM2 cleanup (`pm2 delete claude-mem-worker`) now
    #[command(after_help = "Example:\n  claude-mem-top migrate")]
    Migrate,
    /// The dashboard on a temporary data dir with a built-in stand-in worker
    #[command(after_help = "Example:\n  claude-mem-top demo")]
    Demo {
        /// Keep the temporary data dir afterwards
        #[arg(long)]
        keep: bool,
    },
    /// The built-in stand-in worker (for tests and the demo)
    #[command(hide = true)]
    StandInWorker(StandInArgs),
    /// A child process of the stand-in worker
    #[command(hide = true)]
    StandInChild {
        #[arg(long)]
        ignore_sigterm: bool,
    },
}
