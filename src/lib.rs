//! claude-mem-top: a terminal dashboard and embedded process manager for the claude-mem worker.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod doctor;
pub mod grep;
pub mod history;
pub mod inspect;
pub mod logs;
pub(crate) mod metrics;
pub(crate) mod once;
pub mod platform;
pub mod procman;
pub(crate) mod procs;
pub(crate) mod release;
pub(crate) mod serve;
pub(crate) mod sources;
pub mod supervise;
pub mod ui;
pub mod worker;
