//! The installed claude-mem release, read from its `package.json`.

use std::path::Path;

use crate::config::Config;

/// `~/.claude/plugins/marketplaces/thedotmack/plugin/package.json` → `"version"`.
pub fn installed_version(cfg: &Config) -> Option<String> {
    installed_version_in(cfg.home.as_deref()?)
}

/// The installed release under a home: the marketplace's `plugin/package.json`, else the
/// marketplace's own `package.json` (the npm package as Claude Code lays it out).
pub fn installed_version_in(home: &Path) -> Option<String> {
    let market = home.join(".claude/plugins/marketplaces/thedotmack");
    [
        market.join("plugin/package.json"),
        market.join("package.json"),
    ]
    .iter()
    .find_map(|p| version_of(p))
}

fn version_of(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 1024 * 1024 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")?
        .as_str()
        .map(|s| s.chars().take(40).collect())
}

/// The major version of a release string (`13.25.3` → 13).
pub fn major(version: &str) -> Option<u32> {
    version
        .split('.')
        .next()?
        .trim_start_matches('v')
        .parse()
        .ok()
}
