//! Blocks the writer added at run time (`stoa replies block`), on top of
//! `blocked_actors` and `blocked_domains` in stoa.toml.

use rusqlite::{Connection, params};

/// Blocked actor URLs and domains (lowercase hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocks {
    /// Actor URLs.
    pub actors: Vec<String>,
    /// Hosts; their subdomains are blocked too.
    pub domains: Vec<String>,
}

impl Blocks {
    /// Whether `actor` is blocked by actor or by domain.
    pub fn covers(&self, actor: &str) -> bool {
        if self.actors.iter().any(|a| a == actor) {
            return true;
        }
        let Some(host) = crate::config::url_host(actor) else {
            return false;
        };
        let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }
}

/// Every stored block.
pub fn all(conn: &Connection) -> rusqlite::Result<Blocks> {
    let mut stmt = conn.prepare("SELECT kind, value FROM blocks ORDER BY kind, value")?;
    let mut b = Blocks::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (kind, value) = row?;
        if kind == "domain" {
            b.domains.push(value);
        } else {
            b.actors.push(value);
        }
    }
    Ok(b)
}

/// Blocks an actor; false if it already was.
pub fn block_actor(conn: &Connection, actor: &str, now_ms: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO blocks (kind, value, created_at) VALUES ('actor', ?1, ?2)",
        params![actor, now_ms],
    )? > 0)
}

/// Blocks a domain (lowercased); false if it already was.
pub fn block_domain(conn: &Connection, domain: &str, now_ms: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO blocks (kind, value, created_at) VALUES ('domain', ?1, ?2)",
        params![domain.to_ascii_lowercase(), now_ms],
    )? > 0)
}
