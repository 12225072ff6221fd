//! Whose worker a process is. A PID file can be copied into another data dir and a port can be
//! shared (claude-mem 13.x's default, `37700 + uid % 100`, gives root and uid 1000 the same
//! one), so proving that a PID is a live worker is not enough: it must also run as this user and
//! work for this data dir. [`gather`] reads what the OS shows of a process; [`decide`] is the
//! rule, with no I/O.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config};
use crate::platform::{self, Pid, ProcInfo};

/// What the OS shows of a process that ownership needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Its owner (`None` where the OS has no numeric uids).
    pub uid: Option<u32>,
    /// Its owner's login name, read only when that is not this user (the rule reads nothing).
    pub user: Option<String>,
    /// The data dir it works for, by claude-mem's own resolver applied to its environment;
    /// `None` when its environment could not be read.
    pub data_dir: Option<PathBuf>,
}

/// Whose a process is, relative to this user and this data dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
/// Serialized as the census classes are named (`other-data-dir`, `other-user`).
#[serde(rename_all = "kebab-case", tag = "owner")]
pub enum Owner {
    /// This user's, working for this data dir.
    Ours,
    /// This user's, but its environment could not be read: the other proofs stand alone.
    Unread,
    /// This user's, working for another data dir.
    OtherDataDir {
        #[serde(serialize_with = "super::files::ser_path")]
        data_dir: PathBuf,
    },
    /// Another user's (its data dir, where we could read it).
    OtherUser {
        uid: u32,
        user: Option<String>,
        #[serde(serialize_with = "super::files::ser_opt_path")]
        data_dir: Option<PathBuf>,
    },
}

impl Owner {
    /// Ours to act on (signal, adopt, record, count as this data dir's).
    pub fn is_ours(&self) -> bool {
        matches!(self, Owner::Ours | Owner::Unread)
    }

    /// `user root's worker` / `the worker of data dir /x`; `None` when ours.
    pub fn whose(&self) -> Option<String> {
        match self {
            Owner::Ours | Owner::Unread => None,
            Owner::OtherDataDir { data_dir } => {
                Some(format!("the worker of data dir {}", data_dir.display()))
            }
            Owner::OtherUser { data_dir, .. } => Some(match data_dir {
                Some(d) => format!("{}'s worker for data dir {}", self.user(), d.display()),
                None => format!("{}'s worker", self.user()),
            }),
        }
    }

    /// `user root` / `uid 1000`, for another user's process.
    pub fn user(&self) -> String {
        match self {
            Owner::OtherUser {
                user: Some(name), ..
            } => format!("user {name}"),
            Owner::OtherUser { uid, .. } => format!("uid {uid}"),
            _ => "you".to_string(),
        }
    }

    /// The other data dir, where it is known.
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Owner::OtherDataDir { data_dir } => Some(data_dir),
            Owner::OtherUser { data_dir, .. } => data_dir.as_deref(),
            _ => None,
        }
    }
}

/// A live worker proven alive that is not this data dir's: what it is, for every surface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Elsewhere {
    /// Its PID, when the OS shows it (another user's socket may hide it).
    pub pid: Option<Pid>,
    #[serde(flatten)]
    pub owner: Owner,
}

impl fmt::Display for Elsewhere {
    /// `PID 42, user root's worker for data dir /root/.claude-mem`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = self
            .owner
            .whose()
            .unwrap_or_else(|| "this data dir's".into());
        match self.pid {
            Some(pid) => write!(f, "PID {pid}, {whose}"),
            None => write!(f, "{whose}"),
        }
    }
}

/// The rule. `here` is this data dir as the OS resolves it; `me` this user's uid.
pub fn decide(facts: &Facts, here: &Path, me: Option<u32>) -> Owner {
    if let (Some(uid), Some(me)) = (facts.uid, me) {
        if uid != me {
            return Owner::OtherUser {
                uid,
                user: facts.user.clone(),
                data_dir: facts.data_dir.clone(),
            };
        }
    }
    match &facts.data_dir {
        None => Owner::Unread,
        Some(d) if d == here => Owner::Ours,
        Some(d) => Owner::OtherDataDir {
            data_dir: d.clone(),
        },
    }
}

/// The data dir a process with this environment works for, resolved as the OS would:
/// `CLAUDE_MEM_DATA_DIR`; else, for claude-mem's own programs (`resolver`), what claude-mem's
/// resolver makes of its home (that home's `settings.json`, else its `.claude-mem`). `None`
/// when the environment is empty (not ours to read) or names no data dir (a configured worker
/// command started without one: its other proofs stand alone).
pub fn data_dir_of_env(env: &[OsString], resolver: bool) -> Option<PathBuf> {
    if env.is_empty() {
        return None;
    }
    let home = platform::home_in_env(env);
    let value = platform::env_get(env, "CLAUDE_MEM_DATA_DIR").map(PathBuf::from);
    let dir = match (&home, value) {
        (Some(h), v) if resolver => config::claude_mem_data_dir(v.as_deref(), h, false).ok()?.0,
        (Some(h), Some(v)) => config::expand_tilde(&v, Some(h)).ok()?,
        (None, Some(v)) => v,
        (_, None) => return None,
    };
    Some(norm(&dir))
}

/// Does this argv run claude-mem's own worker script (whose data dir claude-mem's resolver
/// decides)?
pub fn runs_claude_mem(argv: &[String]) -> bool {
    argv.iter().any(|a| {
        Path::new(a)
            .file_name()
            .is_some_and(|n| n == "worker-service.cjs")
    })
}

/// Compare paths as the OS resolves them.
pub fn norm(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Read the facts of a live worker process.
pub fn gather(info: &ProcInfo) -> Facts {
    Facts {
        uid: info.owner,
        user: user_of(info.owner, platform::current_uid()),
        data_dir: data_dir_of_env(&platform::environ(info.pid), runs_claude_mem(&info.cmdline)),
    }
}

/// The login name of `owner` when it is not `me` (the user database read only then).
pub fn user_of(owner: Option<u32>, me: Option<u32>) -> Option<String> {
    owner
        .filter(|o| Some(*o) != me)
        .and_then(platform::user_name)
}

/// Whose is this process, for this config's data dir.
pub fn of(info: &ProcInfo, cfg: &Config) -> Owner {
    decide(&gather(info), &norm(&cfg.data_dir), platform::current_uid())
}

/// Whose worker is the listener of a port: by its PID where the OS shows it (a worker by its
/// command line), else, when it answered `/health` as a worker does (`answered`), by the
/// socket's owner alone. `None` when nothing says it is another's worker.
pub fn of_listener(
    pid: Option<Pid>,
    socket_uid: Option<u32>,
    answered: bool,
    cfg: &Config,
) -> Option<Elsewhere> {
    let me = platform::current_uid();
    if let Some(info) = pid.and_then(platform::proc_info).filter(|i| !i.zombie) {
        if !super::census::is_worker_argv(&info.cmdline, &cfg.worker) {
            return None;
        }
        let owner = of(&info, cfg);
        return (!owner.is_ours()).then_some(Elsewhere {
            pid: Some(info.pid),
            owner,
        });
    }
    match (socket_uid, me) {
        (Some(uid), Some(me)) if uid != me && answered => Some(Elsewhere {
            pid,
            owner: Owner::OtherUser {
                uid,
                user: platform::user_name(uid),
                data_dir: None,
            },
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(uid: Option<u32>, dir: Option<&str>) -> Facts {
        Facts {
            uid,
            user: None,
            data_dir: dir.map(PathBuf::from),
        }
    }

    #[test]
    fn the_rule() {
        let here = Path::new("/h/.claude-mem");
        let cases: [(Facts, Option<u32>, &str); 7] = [
            (facts(Some(5), Some("/h/.claude-mem")), Some(5), "ours"),
            (facts(Some(5), None), Some(5), "unread"),
            (
                facts(Some(5), Some("/a/.claude-mem")),
                Some(5),
                "other-data-dir",
            ),
            (
                facts(Some(0), Some("/h/.claude-mem")),
                Some(5),
                "other-user",
            ),
            (facts(Some(0), None), Some(5), "other-user"),
            // No numeric uids (Windows): the data dir decides.
            (facts(None, Some("/h/.claude-mem")), None, "ours"),
            (facts(None, Some("/b")), None, "other-data-dir"),
        ];
        for (f, me, want) in cases {
            let got = decide(&f, here, me);
            let tag = serde_json::to_value(&got).expect("json")["owner"].clone();
            assert_eq!(tag, want, "{f:?} as {me:?}");
            assert_eq!(got.is_ours(), want == "ours" || want == "unread");
        }
    }

    #[test]
    fn whose_names_the_data_dir_and_the_user() {
        let o = Owner::OtherDataDir {
            data_dir: "/a".into(),
        };
        assert_eq!(o.whose().as_deref(), Some("the worker of data dir /a"));
        let u = Owner::OtherUser {
            uid: 0,
            user: Some("root".into()),
            data_dir: Some("/root/.claude-mem".into()),
        };
        assert_eq!(
            Elsewhere {
                pid: Some(42),
                owner: u
            }
            .to_string(),
            "PID 42, user root's worker for data dir /root/.claude-mem"
        );
        let n = Owner::OtherUser {
            uid: 1000,
            user: None,
            data_dir: None,
        };
        assert_eq!(n.whose().as_deref(), Some("uid 1000's worker"));
    }

    #[test]
    fn the_environment_resolves_as_claude_mem_does() {
        let t = tempfile::tempdir().expect("tmp");
        let home = t.path().join("home");
        let moved = t.path().join("moved");
        std::fs::create_dir_all(home.join(".claude-mem")).expect("mkdir");
        std::fs::create_dir_all(&moved).expect("mkdir");
        let env = |pairs: &[(&str, &Path)]| -> Vec<OsString> {
            pairs
                .iter()
                .map(|(k, v)| OsString::from(format!("{k}={}", v.display())))
                .collect()
        };
        assert_eq!(data_dir_of_env(&[], true), None);
        assert_eq!(
            data_dir_of_env(&env(&[("HOME", &home)]), true),
            Some(norm(&home.join(".claude-mem")))
        );
        assert_eq!(
            data_dir_of_env(
                &env(&[("HOME", &home), ("CLAUDE_MEM_DATA_DIR", &moved)]),
                true
            ),
            Some(norm(&moved))
        );
        // Moved by the home's settings.json (with a BOM, nested under `env`).
        // serde_json escapes the path (a Windows path's backslashes).
        let body = format!(
            "\u{feff}{}",
            serde_json::json!({"env": {"CLAUDE_MEM_DATA_DIR": moved.display().to_string()}})
        );
        std::fs::write(home.join(".claude-mem/settings.json"), body).expect("write");
        assert_eq!(
            data_dir_of_env(&env(&[("HOME", &home)]), true),
            Some(norm(&moved))
        );
    }
}
