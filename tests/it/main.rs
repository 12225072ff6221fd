//! The integration tests: one binary (one link of the whole crate), a module per area.
//! Shared fixtures live in `common`, the pseudo-terminal driver in `support_pty` and the JSON
//! schema checker in `support_schema`.

mod common;
#[cfg(unix)]
mod support_pty;
mod support_schema;

mod activity;
mod census;
mod citizenship;
mod cli_lifecycle;
mod completions;
mod config_files;
mod data_and_security;
mod docs;
mod doctor;
mod field_defects;
mod health_faults;
mod history;
mod identity_proof;
mod identity_races;
mod layouts;
mod logs_grep;
mod max_memory;
mod memory;
mod metrics;
mod migrate;
mod no_pidfd;
mod ownership;
mod pipeline;
mod properties;
mod pty_dashboard;
mod pty_stream;
mod real_worker;
mod start_stop_faults;
mod stream;
mod supervise;
mod ui_snapshots;
