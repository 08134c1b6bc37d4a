//! Delivery health per host (Mastodon's `DeliveryFailureTracker`): each
//! failed attempt records its UTC day; a success clears them; after 7
//! distinct days the host is unavailable and skipped until it sends us a
//! valid activity.

use rusqlite::{Connection, OptionalExtension, params};

/// Failure days after which a host is skipped.
pub const UNAVAILABLE_AFTER_DAYS: usize = 7;

/// Records a failed attempt on `day` (`YYYY-MM-DD`); true if the host just
/// became unavailable.
pub fn failed(conn: &Connection, host: &str, day: &str, now_ms: i64) -> rusqlite::Result<bool> {
    let days: String = conn
        .query_row(
            "SELECT failure_days FROM hosts WHERE host = ?1",
            [host],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let mut list: Vec<&str> = days.split(',').filter(|d| !d.is_empty()).collect();
    if !list.contains(&day) {
        list.push(day);
    }
    let unavailable = list.len() >= UNAVAILABLE_AFTER_DAYS;
    conn.execute(
        "INSERT INTO hosts (host, failure_days, unavailable_since) VALUES (?1, ?2, ?3)
         ON CONFLICT (host) DO UPDATE SET failure_days = excluded.failure_days,
           unavailable_since = COALESCE(hosts.unavailable_since, excluded.unavailable_since)",
        params![host, list.join(","), unavailable.then_some(now_ms)],
    )?;
    Ok(unavailable)
}

/// A success, or the host wrote to us: it is healthy again.
pub fn healthy(conn: &Connection, host: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM hosts WHERE host = ?1", [host])?;
    Ok(())
}

/// Every unavailable host, with the time it became so (ms).
pub fn unavailable(conn: &Connection) -> rusqlite::Result<std::collections::HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, unavailable_since FROM hosts WHERE unavailable_since IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Since when a host is unavailable, if it is (the tests' window on the table).
#[cfg(test)]
pub fn unavailable_since(conn: &Connection, host: &str) -> rusqlite::Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT unavailable_since FROM hosts WHERE host = ?1",
            [host],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_failing_days_make_a_host_unavailable_until_it_is_healthy() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::companion::store::Store::open(&dir.path().join("s.db")).unwrap();
        let c = store.conn();
        for day in 1..=6 {
            assert!(!failed(c, "h.example", &format!("2026-01-0{day}"), 1).unwrap());
            assert!(
                !failed(c, "h.example", &format!("2026-01-0{day}"), 1).unwrap(),
                "same day twice"
            );
        }
        assert!(failed(c, "h.example", "2026-01-07", 5).unwrap());
        assert_eq!(unavailable_since(c, "h.example").unwrap(), Some(5));
        healthy(c, "h.example").unwrap();
        assert_eq!(unavailable_since(c, "h.example").unwrap(), None);
    }
}
