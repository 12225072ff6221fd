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

pub fn version_of(path: &Path) -> Option<String> {
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

/// The plugin dir claude-mem's hooks run the worker from: the highest version under
/// `~/.claude/plugins/cache/thedotmack/claude-mem/` without an `.orphaned_at` file (its
/// `plugin/` subdir where there is one), with its version.
pub fn hooks_plugin(home: &Path) -> Option<(std::path::PathBuf, String)> {
    let cache = home.join(".claude/plugins/cache/thedotmack/claude-mem");
    type Key = (u64, u64, u64, bool);
    let mut found: Vec<(Key, std::path::PathBuf, String)> = std::fs::read_dir(&cache)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if !name.starts_with(|c: char| c.is_ascii_digit()) || !e.path().is_dir() {
                return None;
            }
            if crate::platform::exists(&e.path().join(".orphaned_at")) {
                return None;
            }
            let (core, pre) = match name.split_once('-') {
                Some((c, _)) => (c, true),
                None => (name.as_str(), false),
            };
            let mut n = core.split('.').map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u64>()
                    .unwrap_or(0)
            });
            let key = (
                n.next().unwrap_or(0),
                n.next().unwrap_or(0),
                n.next().unwrap_or(0),
                !pre,
            );
            let dir = if e.path().join("plugin/scripts").is_dir() {
                e.path().join("plugin")
            } else {
                e.path()
            };
            Some((key, dir, name))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let (_, dir, name) = found.into_iter().next()?;
    Some((dir, name))
}

/// The version claude-mem's hooks would run ([`hooks_plugin`]).
pub fn hooks_version(cfg: &Config) -> Option<String> {
    hooks_plugin(cfg.home.as_deref()?).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hooks_plugin_is_the_highest_version_not_orphaned() {
        let home = tempfile::tempdir().expect("tempdir");
        let cache = home
            .path()
            .join(".claude/plugins/cache/thedotmack/claude-mem");
        assert_eq!(hooks_plugin(home.path()), None);
        for v in ["9.0.0", "13.25.3", "13.30.0", "13.26.0-beta.1", "notes"] {
            std::fs::create_dir_all(cache.join(v).join("scripts")).expect("mkdir");
        }
        std::fs::write(cache.join("13.30.0/.orphaned_at"), "2026-11-30").expect("orphan");
        let (dir, v) = hooks_plugin(home.path()).expect("found");
        // Versions compare as the hooks' shell does: numbers, a release above its pre-release.
        assert_eq!(v, "13.26.0-beta.1");
        assert_eq!(dir, cache.join("13.26.0-beta.1"));
        std::fs::remove_dir_all(cache.join("13.26.0-beta.1")).expect("rm");
        let (dir, v) = hooks_plugin(home.path()).expect("found");
        assert_eq!((dir, v.as_str()), (cache.join("13.25.3"), "13.25.3"));
        // A `plugin/` subdir is where the scripts are, when there is one.
        std::fs::create_dir_all(cache.join("13.25.3/plugin/scripts")).expect("mkdir");
        assert_eq!(
            hooks_plugin(home.path()).map(|p| p.0),
            Some(cache.join("13.25.3/plugin"))
        );
    }
}
