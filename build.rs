//! Link the Linux executable at a fixed address (no PIE).
//!
//! A position-independent executable has the loader apply its ~20,000 relative relocations
//! at every start, which writes (and so copies) the pages that hold them: `--version` took
//! 1.8 ms and 285 page faults, against 1.4 ms and 191 without PIE. `status` and `--once` are
//! run by scripts and hooks many times a minute, and their budget is twice a program that
//! reads two files and sends one request (docs/performance.md, row 11). The price is that the
//! executable's own code is not placed at a random address (libraries and the stack still are).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // glibc targets only: musl's static executables are linked by rules of their own.
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
