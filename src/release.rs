//! The installed claude-mem release, read from its `package.json`.

use crate::config::Config;

/// `~/.claude/plugins/marketplaces/thedotmack/plugin/package.json` → `"version"`.
pub fn installed_version(cfg: &Config) -> Option<String> {
    let home = cfg.home.as_ref()?;
    let path = home.join(".claude/plugins/marketplaces/thedotmack/plugin/package.json");
    let meta = std::fs::metadata(&path).ok()?;
    if meta.len() > 1024 * 1024 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")?
        .as_str()
        .map(|s| s.chars().take(40).collect())
}
