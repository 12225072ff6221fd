//! Doctor checks of the installation: settings.json, bun, and the worker program or script.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{fail, ok, warn, Finding};
use crate::config::{self, Config, ConfigError, DataDirSource, PortSource};
use crate::procman::files;
use crate::procman::spawn;

pub(super) fn check_settings(cfg: &Config, config_error: Option<&ConfigError>) -> Finding {
    const ID: &str = "settings";
    const T: &str = "settings.json";
    let path = cfg.settings_path();
    if let Some(e) = config_error {
        // The file the error names (doctor's stand-in config points elsewhere to go on).
        let file = e.file().map_or_else(|| path.clone(), Path::to_path_buf);
        return fail(
            ID,
            T,
            e.to_string(),
            &format!(
                "fix {} (a JSON object; CLAUDE_MEM_WORKER_PORT an integer from 1024 to 65535)",
                file.display()
            ),
        );
    }
    match config::read_settings(&path) {
        Err(e) => fail(
            ID,
            T,
            e.to_string(),
            &format!("fix or remove {}", path.display()),
        ),
        Ok(None) => ok(
            ID,
            T,
            format!("{} absent or empty: defaults apply", path.display()),
        ),
        Ok(Some(v)) => {
            let flat = v.as_object().map_or(0, |o| o.len());
            let raw = config::settings_port(&path).ok().flatten();
            let port_note = match raw {
                None => "no CLAUDE_MEM_WORKER_PORT".to_string(),
                Some(p) => match files::parse_port(&p) {
                    Ok(n) => format!("CLAUDE_MEM_WORKER_PORT {n}"),
                    Err(_) => {
                        return fail(
                            ID,
                            T,
                            format!(
                                "{}: CLAUDE_MEM_WORKER_PORT {p:?} is not a port from 1024 to 65535",
                                path.display()
                            ),
                            &format!(
                                "set CLAUDE_MEM_WORKER_PORT in {} to e.g. \"37777\"",
                                path.display()
                            ),
                        )
                    }
                },
            };
            let mut msg = format!(
                "{} is valid JSON ({flat} keys, {port_note})",
                path.display()
            );
            if cfg.port_source != PortSource::Default
                && !matches!(cfg.port_source, PortSource::Settings(_))
            {
                let _ = write!(msg, "; the port in use comes from {}", cfg.port_source);
            }
            if cfg.data_dir_source != DataDirSource::Default {
                let _ = write!(
                    msg,
                    "; data dir {} from {}",
                    cfg.data_dir.display(),
                    cfg.data_dir_source
                );
            }
            if let Some(w) = moved_settings_disagree(cfg) {
                return warn(ID, T, format!("{msg}; {w}"), &format!(
                    "set CLAUDE_MEM_WORKER_PORT in {} (the file claude-mem reads), or remove it from the moved data dir's settings.json",
                    path.display()
                ));
            }
            ok(ID, T, msg)
        }
    }
}

/// A data dir moved by `~/.claude-mem/settings.json` whose own `settings.json` names another
/// port than the one claude-mem uses: its hooks and worker never read that file.
fn moved_settings_disagree(cfg: &Config) -> Option<String> {
    if !matches!(cfg.data_dir_source, DataDirSource::Settings(_)) {
        return None;
    }
    let own = cfg.data_dir.join("settings.json");
    let raw = config::settings_port(&own).ok().flatten()?;
    let port = files::parse_port(&raw).ok();
    (port != Some(cfg.port)).then(|| {
        format!(
            "{} names port {raw}, but claude-mem reads {} and uses port {}",
            own.display(),
            cfg.settings_path().display(),
            cfg.port
        )
    })
}

/// Run `program --version` for at most 3 s.
fn program_version(program: &Path) -> Option<String> {
    use std::io::Read;
    let mut child = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    if crate::platform::wait_child(&mut child, Duration::from_secs(3)).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let mut out = String::new();
    child
        .stdout
        .take()?
        .take(4096)
        .read_to_string(&mut out)
        .ok()?;
    let _ = child.wait();
    let v = out.lines().next()?.trim().to_string();
    (!v.is_empty()).then_some(v)
}

pub(super) fn check_bun(cfg: &Config) -> Finding {
    const ID: &str = "bun";
    const T: &str = "bun";
    let uses_bun = cfg.worker.script.is_some();
    let program = if uses_bun {
        cfg.worker.argv[0].as_str()
    } else {
        "bun"
    };
    match spawn::find_program(program, cfg.home.as_deref()) {
        Some(p) => {
            let v = program_version(&p)
                .map(|v| format!("bun {v}"))
                .unwrap_or_else(|| "bun (its --version did not answer)".into());
            let note = if uses_bun {
                ""
            } else {
                " (not used: the worker command is custom)"
            };
            ok(ID, T, format!("{v} at {}{note}", p.display()))
        }
        None if uses_bun => fail(
            ID,
            T,
            "Bun is required but not found in PATH",
            "install bun (curl -fsSL https://bun.sh/install | bash) and open a new shell",
        ),
        None => ok(
            ID,
            T,
            format!(
                "not on PATH; not needed: the worker command is custom ({})",
                cfg.worker.display()
            ),
        ),
    }
}

/// Arguments of a custom command that name a script file.
fn script_args(argv: &[String]) -> impl Iterator<Item = &String> {
    argv.iter().skip(1).filter(|a| {
        !a.starts_with('-')
            && [".js", ".cjs", ".mjs", ".ts"]
                .iter()
                .any(|ext| a.ends_with(ext))
    })
}

pub(super) fn check_worker_program(cfg: &Config) -> Finding {
    const ID: &str = "worker_script";
    const T: &str = "worker script";
    let w = &cfg.worker;
    if let Some(script) = &w.script {
        return if script.is_file() {
            let version = crate::release::installed_version(cfg)
                .map(|v| format!(" (claude-mem {v})"))
                .unwrap_or_default();
            ok(ID, T, format!("{}{version}", script.display()))
        } else {
            fail(
                ID,
                T,
                format!("Worker script not found at {}", script.display()),
                "reinstall the claude-mem plugin (in Claude Code: /plugin install claude-mem), or pass --worker-cmd",
            )
        };
    }
    let Some(program) = spawn::find_program(&w.argv[0], cfg.home.as_deref()) else {
        return fail(
            ID,
            T,
            format!("Worker program not found: {}", w.argv[0]),
            "fix --worker-cmd / CLAUDE_MEM_TOP_WORKER_CMD (a program on PATH or an absolute path)",
        );
    };
    for s in script_args(&w.argv) {
        let p = Path::new(s);
        let p = match (&w.cwd, p.is_relative()) {
            (Some(cwd), true) => cwd.join(p),
            _ => p.to_path_buf(),
        };
        if !p.is_file() {
            return fail(
                ID,
                T,
                format!("Worker script not found at {}", p.display()),
                "fix the script path in --worker-cmd / CLAUDE_MEM_TOP_WORKER_CMD",
            );
        }
    }
    ok(
        ID,
        T,
        format!(
            "custom command {} (program {})",
            w.display(),
            program.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_args_pick_files() {
        let argv: Vec<String> = ["bun", "--smol", "/x/worker-service.cjs", "9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            script_args(&argv).collect::<Vec<_>>(),
            vec!["/x/worker-service.cjs"]
        );
    }
}
