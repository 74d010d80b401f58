//! SQL migrations: each component's grant may name directories of `NNNN_name.sql` files for its database; the
//! host applies the files not yet applied, in name order, each in one transaction that first claims the file's
//! name in `esignet_migrations` (so replicas starting together apply each file once). At start the host waits a
//! bounded time for a database that is not reachable yet (`apply_when_reachable`): pods and their database are
//! often started together, and a replica that waits comes up sooner than one that exits and is restarted with
//! Kubernetes' back-off.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::backends::{SqlBackend, SqlError, SqlValue};
use crate::manifest::Manifest;

/// (database, file) pairs to apply, deduplicated across components.
pub fn planned(manifest: &Manifest) -> Result<BTreeSet<(String, PathBuf)>> {
    let mut plan = BTreeSet::new();
    for spec in manifest.components.values() {
        let database = spec.sql_database().to_string();
        for dir in &spec.grants.sql_migrations {
            let dir = manifest.base_dir.join(dir);
            let entries = std::fs::read_dir(&dir).with_context(|| format!("component `{}`: migrations in {}", spec.id, dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "sql") {
                    plan.insert((database.clone(), path));
                }
            }
        }
    }
    Ok(plan)
}

/// Applies pending migrations; returns the names applied now.
pub async fn apply(sql: &dyn SqlBackend, manifest: &Manifest) -> Result<Vec<String>> {
    let mut applied = Vec::new();
    let mut ready = BTreeSet::new();
    let mut plan: Vec<_> = planned(manifest)?.into_iter().collect();
    plan.sort_by(|a, b| (a.0.as_str(), a.1.file_name()).cmp(&(b.0.as_str(), b.1.file_name())));
    for (database, path) in plan {
        if ready.insert(database.clone()) {
            sql.execute(
                &database,
                "CREATE TABLE IF NOT EXISTS esignet_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                vec![],
            )
            .await
            .with_context(|| format!("database `{database}`"))?;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut tx = sql.begin(&database).await.with_context(|| format!("database `{database}`"))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        match tx
            .execute(
                "INSERT INTO esignet_migrations (name, applied_at) VALUES ($1, $2)",
                vec![SqlValue::Text(name.clone()), SqlValue::Integer(now)],
            )
            .await
        {
            Ok(_) => {}
            Err(SqlError::Constraint(_)) => {
                tx.rollback().await.ok();
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("database `{database}`")),
        }
        for statement in split_statements(&text) {
            tx.execute(&statement, vec![]).await.with_context(|| format!("migration {name}"))?;
        }
        tx.commit().await.with_context(|| format!("migration {name}"))?;
        tracing::info!(database, migration = %name, "applied migration");
        applied.push(name);
    }
    Ok(applied)
}

/// `apply`, retried while the database is unavailable (refused, unreachable, too many connections, shutting down),
/// with a growing pause (a quarter second up to 4 s), until `wait` has passed (a last try then); any other error at
/// once.
pub async fn apply_when_reachable(sql: &dyn SqlBackend, manifest: &Manifest, wait: Duration) -> Result<Vec<String>> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(250);
    loop {
        match apply(sql, manifest).await {
            Err(e) if unavailable(&e) && Instant::now() < deadline => {
                let pause_now = pause.min(deadline.saturating_duration_since(Instant::now()));
                tracing::warn!(
                    error = %format!("{e:#}"),
                    retry_in_ms = pause_now.as_millis() as u64,
                    "the database is not reachable yet; waiting for it"
                );
                tokio::time::sleep(pause_now).await;
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            other => return other,
        }
    }
}

fn unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<SqlError>(), Some(SqlError::Unavailable(_))))
}

/// Splits a SQL script on `;` outside quotes, dropping `--` comments and empty statements.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                    current.push('\n');
                }
                ';' => {
                    if !current.trim().is_empty() {
                        out.push(current.trim().to_string());
                    }
                    current.clear();
                }
                _ => current.push(c),
            },
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_drops_comments() {
        let s = split_statements("-- head\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nINSERT INTO a VALUES ('--x'); -- tail\n");
        assert_eq!(s, vec!["CREATE TABLE a (x TEXT DEFAULT ';')", "INSERT INTO a VALUES ('--x')"]);
    }
}
