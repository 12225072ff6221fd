//! claude-mem-top: a terminal dashboard and embedded process manager for the claude-mem worker.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod logs;
pub mod metrics;
pub mod once;
pub mod platform;
pub mod procman;
pub mod procs;
pub mod release;
pub mod serve;
pub mod sources;
pub mod supervise;
pub mod ui;
pub mod worker;
