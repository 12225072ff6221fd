use std::process::ExitCode;

use clap::Parser;

use claude_mem_top::cli::{Cli, Command, Format};
use claude_mem_top::commands::{self, duration, Fail, Res};

fn main() -> ExitCode {
    // Hidden helper processes first: they must start fast and never touch color-eyre.
    let cli = Cli::parse();
    if let Some(Command::StandInWorker(args)) = &cli.command {
        return ExitCode::from(claude_mem_top::worker::main(args.clone()));
    }
    if let Some(Command::StandInChild { ignore_sigterm }) = &cli.command {
        claude_mem_top::worker::child_main(*ignore_sigterm);
    }
    let _ = color_eyre::install();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fail { code, msg }) => {
            eprintln!("claude-mem-top: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Res {
    let fmt = |f: Format, json: bool| if json { Format::Json } else { f };
    let cfg = || commands::load_config(&cli.global);
    match &cli.command {
        None if cli.once => commands::status(&cfg()?, fmt(cli.format, cli.json)),
        None => Err(Fail {
            code: 2,
            msg: "the dashboard is not built yet: use --once".into(),
        }),
        Some(Command::Status { format, json }) => commands::status(&cfg()?, fmt(*format, *json)),
        Some(Command::Start { timeout }) => {
            commands::start(&cfg()?, duration(timeout, "--timeout")?)
        }
        Some(Command::Stop { grace }) => commands::stop(&cfg()?, duration(grace, "--grace")?),
        Some(Command::Restart { timeout, grace }) => commands::restart(
            &cfg()?,
            duration(timeout, "--timeout")?,
            duration(grace, "--grace")?,
        ),
        Some(Command::Ensure { timeout }) => {
            commands::ensure(&cfg()?, duration(timeout, "--timeout")?)
        }
        Some(Command::Logs {
            lines,
            follow,
            level,
        }) => commands::logs(&cfg()?, *lines, *follow, level.as_deref()),
        Some(Command::Migrate) => commands::migrate(&cfg()?),
        Some(Command::Demo { .. }) => Err(Fail {
            code: 2,
            msg: "demo is not built yet".into(),
        }),
        Some(Command::StandInWorker(_)) | Some(Command::StandInChild { .. }) => Ok(0),
    }
}
