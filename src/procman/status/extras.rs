//! What `status` shows besides the three layers: the installed release, the worker's API
//! figures, PM2 leftovers, the pipeline, the newest stored items, the previous run and the
//! census. [`LocalExtras`] come from disk alone (the status read takes them once the worker has
//! answered, while a second thread still scans the process table); [`Extras`] adds the worker's
//! answers and the census.

use std::time::Duration;

use super::probe::{family, reported_pid};
use super::{State, Status};
use crate::config::Config;
use crate::procman::api::{self, ApiInfo};
use crate::procman::census;
use crate::procman::pipeline::{self, Pipeline};
use crate::procman::pm2::{self, Pm2Leftovers};
use crate::procman::{activity, history};

/// The extras that come from disk alone: `status` reads them while a second thread scans the
/// process table for the census.
#[derive(Debug, Clone, Default)]
pub struct LocalExtras {
    installed_version: Option<String>,
    /// The release the hooks run (they decide what gets killed), else the marketplace's.
    plugin: Option<String>,
    pm2: Option<Pm2Leftovers>,
    pipeline: pipeline::Local,
    activity: Vec<activity::Item>,
    /// The newest runs from the logs (the live worker not applied yet).
    history: Option<history::History>,
}

impl LocalExtras {
    /// Everything, and the newest `activity` items of the database.
    pub fn read(cfg: &Config, activity: usize) -> LocalExtras {
        let installed_version = crate::release::installed_version(cfg);
        LocalExtras {
            plugin: crate::release::hooks_version(cfg).or_else(|| installed_version.clone()),
            installed_version,
            pm2: pm2::detect(cfg.home.as_deref()).filter(|p| p.active()),
            pipeline: pipeline::read_local(cfg),
            history: history::read(&cfg.data_dir, history::Limits::recent(), None).ok(),
            activity: {
                let db = cfg.path("claude-mem.db");
                // No database yet: nothing stored, and SQLite is not started to find that out.
                if activity == 0 || !db.is_file() {
                    Vec::new()
                } else {
                    activity::read(&db, Default::default(), activity)
                        .map(|(items, _)| items)
                        .unwrap_or_default()
                }
            },
        }
    }
}

/// What `status` shows besides the three layers: the installed release, the worker's API
/// figures, PM2 leftovers. The dashboard reads them less often than the layers and carries the
/// last values over.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub installed_version: Option<String>,
    pub api: Option<ApiInfo>,
    pub pm2: Option<Pm2Leftovers>,
    pub census: census::Census,
    pub pipeline: Option<Pipeline>,
    /// The newest stored items ([`StatusOpts::activity`](super::StatusOpts::activity)).
    pub activity: Vec<activity::Item>,
    /// The newest runs from the logs, the live worker's marked running.
    pub history: Option<history::History>,
}

impl Extras {
    /// Everything, with the census of `scan` and the disk reads of `local` (for `status`,
    /// `--once`, doctor and the metrics). The census asks the configured port nothing more: the
    /// status read asked it.
    pub fn read(
        cfg: &Config,
        st: &Status,
        stall_after: Duration,
        scan: census::Scan,
        local: LocalExtras,
    ) -> Extras {
        // The version the census compares workers with: the plugin's, read once.
        let reference = local.plugin.clone();
        let mut e = Extras::complete(cfg, st, stall_after, local);
        let heard = st.probe.as_ref().map(|p| {
            // What a healthy worker said of itself; nothing of one that is not.
            let api = (st.api_prefetch.as_ref().or(e.api.as_ref())).filter(|_| p.healthy());
            census::Heard {
                answer: census::Answer::of(p),
                version: api.and_then(|a| a.version.clone()),
                pid: api.and_then(|a| a.pid).or_else(|| reported_pid(p)),
            }
        });
        e.census = census::take_scanned(
            cfg,
            census::Scope::DataDir,
            st.proven().map(|p| p.pid),
            scan,
            heard,
            reference,
        );
        e
    }

    /// Without the census (the dashboard has a census source of its own).
    pub fn read_without_census(cfg: &Config, st: &Status, stall_after: Duration) -> Extras {
        Extras::complete(cfg, st, stall_after, LocalExtras::read(cfg, 0))
    }

    /// The disk reads with the worker's answers (asked now if the status read did not).
    fn complete(cfg: &Config, st: &Status, stall_after: Duration, local: LocalExtras) -> Extras {
        // Only when /health answered HTTP: a worker that hangs or talks garbage would make each
        // API read wait out its timeout too, and status must stay within one probe's timeout.
        let answered = st.probe.as_ref().is_some_and(|p| p.result.is_ok());
        let api = (answered
            && matches!(
                st.state(),
                State::Running | State::Unhealthy | State::Unmanaged
            ))
        .then(|| {
            st.api_prefetch
                .clone()
                .unwrap_or_else(|| api::read(cfg.host, st.port, family(cfg, st.layout)))
        });
        let pipeline = pipeline::complete(
            local.pipeline,
            pipeline::Inputs {
                dependencies: api.as_ref().and_then(|a| a.dependencies.as_ref()),
                chroma: api.as_ref().and_then(|a| a.chroma.as_ref()),
                running_version: api.as_ref().and_then(|a| a.version.as_deref()),
                installed_version: local.plugin.as_deref(),
                stall_after,
            },
        );
        let mut history = local.history;
        if let Some(h) = &mut history {
            let mut live = history::Live::of(st);
            if let Some(l) = live.as_mut().filter(|l| l.version.is_none()) {
                l.version = api.as_ref().and_then(|a| a.version.clone());
            }
            h.apply_live(live.as_ref());
        }
        Extras {
            installed_version: local.installed_version,
            api,
            pm2: local.pm2,
            census: census::Census::default(),
            pipeline: Some(pipeline),
            activity: local.activity,
            history,
        }
    }

    /// Put these into a status (the API only while a worker answers).
    pub fn apply(&self, st: &mut Status) {
        st.installed_version = self.installed_version.clone();
        st.activity = self.activity.clone();
        if matches!(
            st.state(),
            State::Running | State::Unhealthy | State::Unmanaged
        ) {
            st.api = self.api.clone();
        }
        st.pm2 = self.pm2.clone();
        st.pipeline = self.pipeline.clone();
        st.previous_run = self.history.as_ref().and_then(|h| h.previous().cloned());
        if let Some(p) = &st.pm2 {
            st.warnings.push(p.describe());
        }
        st.processes = self.census.members.clone();
        st.orphans = self.census.orphans().cloned().collect();
        if !st.orphans.is_empty() {
            st.warnings.push(format!(
                "{} orphaned helper(s) using {}: `claude-mem-top reap` ends them",
                st.orphans.len(),
                crate::config::fmt_bytes(self.census.orphan_rss())
            ));
        }
        let others: Vec<String> = self
            .census
            .workers()
            .filter(|m| Some(m.pid) != st.pid())
            .map(|m| {
                format!(
                    "PID {} ({}{})",
                    m.pid,
                    m.class.label(),
                    m.version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        if !others.is_empty() {
            st.warnings.push(format!(
                "other claude-mem workers: {} (`claude-mem-top ps` lists them)",
                others.join(", ")
            ));
        }
    }
}
