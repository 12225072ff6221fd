//! Runs effects off the UI thread and answers with messages.

use std::sync::mpsc::Sender;
use std::time::Instant;

use super::msg::{Action, Msg};
use crate::config::Config;
use crate::procman::control::{self, Opts, StartOutcome, StopOutcome};
use crate::procman::spawn;

fn describe_start(o: StartOutcome) -> String {
    match o {
        StartOutcome::AlreadyRunning { pid, .. } => format!("already running (PID {pid})"),
        StartOutcome::Started { pid, child, .. } => {
            // We are long-lived: reap the worker when it exits, never leave a zombie.
            spawn::reap_in_background(child);
            format!("started PID {pid}")
        }
    }
}

fn describe_stop(o: StopOutcome) -> String {
    match o {
        StopOutcome::NotRunning { .. } => "was not running".into(),
        StopOutcome::Stopped { pid, killed, .. } => {
            format!(
                "stopped PID {pid}{}",
                if killed { " (SIGKILL)" } else { "" }
            )
        }
    }
}

pub fn run_action(cfg: Config, opts: Opts, action: Action, tx: Sender<Msg>) {
    let _ = std::thread::Builder::new()
        .name(format!("action-{}", action.verb()))
        .spawn(move || {
            let t0 = Instant::now();
            let result = match action {
                Action::Start => control::start(&cfg, opts).map(describe_start),
                Action::Stop => control::stop(&cfg, opts).map(describe_stop),
                Action::Restart => control::restart(&cfg, opts)
                    .map(|(a, b)| format!("{}, {}", describe_stop(a), describe_start(b))),
            }
            .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string());
            let _ = tx.send(Msg::ActionDone {
                action,
                result,
                elapsed: t0.elapsed(),
            });
        });
}
