//! Scheduled backups: a consistent copy of the live database (`VACUUM INTO`), keeping
//! the newest `backup.keep` copies.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::db::Db;

const PREFIX: &str = "goated-";
const SUFFIX: &str = ".db";

/// The backup folder: `backup.dir`, relative to the database's own folder.
pub fn folder(config: &Config) -> PathBuf {
    let base = config
        .database
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    base.join(&config.backup.dir)
}

/// Writes one backup and prunes old ones; returns the new file.
pub fn run(db: &Db, config: &Config, now: DateTime<Utc>) -> anyhow::Result<PathBuf> {
    let dir = folder(config);
    std::fs::create_dir_all(&dir)?;
    let target = dir.join(format!("{PREFIX}{}{SUFFIX}", now.format("%Y%m%dT%H%M%SZ")));
    if target.exists() {
        anyhow::bail!("{} exists already", target.display());
    }
    db.backup_to(&target)?;
    let removed = prune(&dir, config.backup.keep as usize)?;
    tracing::info!(file = %target.display(), removed, "backup written");
    Ok(target)
}

/// Deletes the oldest backups beyond `keep` (names sort by time).
fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(keep);
    for old in &copies[..excess] {
        std::fs::remove_file(old)?;
    }
    Ok(excess)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_written_and_only_the_newest_copies_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.database.path = dir.path().join("goated.db");
        config.backup.keep = 2;
        let db = Db::open(&config.database.path, 1).unwrap();
        for day in [
            "2026-11-01T03:30:00Z",
            "2026-11-02T03:30:00Z",
            "2026-11-03T03:30:00Z",
        ] {
            run(&db, &config, day.parse().unwrap()).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(folder(&config))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["goated-20261102T033000Z.db", "goated-20261103T033000Z.db"]
        );
    }
}
