//! The companion's database under accidents: deleted or damaged while the
//! companion runs, it stops acknowledging (`503`, so senders retry), says
//! so in `/healthz` and in an ERROR, saves what it still holds, and will not
//! start again on nothing or on a damaged file. `stoa backup` copies it
//! while it runs, and the copy restores.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Companion, Peer, follow, send};

fn start() -> (Companion, Peer) {
    let blog = crate::companion::start();
    (blog, Peer::start(&["alice", "bob"]))
}

/// Alice follows, and her Accept is delivered: nothing is left to write.
fn alice_follows(blog: &Companion, peer: &Peer) {
    let (status, text) = send(peer, "alice", blog, &follow(peer, "alice", blog, 1));
    assert_eq!(status, 202, "{text}");
    blog.wait_status("alice to follow", |s| {
        s["followers"]["accepted"] == 1 && s["deliveries"]["delivered"] == 1
    });
}

fn wait_until(what: &str, blog: &Companion, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nlog:\n{}",
            blog.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rescued_copies(blog: &Companion) -> Vec<PathBuf> {
    let dir = blog.database().with_file_name("");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("companion folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("stoa-rescued-"))
        .collect();
    found.sort();
    found
}

fn sidecars(db: &Path) -> [PathBuf; 2] {
    let name = db.to_string_lossy();
    [
        PathBuf::from(format!("{name}-wal")),
        PathBuf::from(format!("{name}-shm")),
    ]
}

fn error_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("ERROR")).collect()
}

#[test]
fn a_database_deleted_while_running_is_not_acknowledged_into_and_is_saved() {
    let (mut blog, peer) = start();
    alice_follows(&blog, &peer);
    let db = blog.database();
    std::fs::remove_file(&db).expect("delete the database");

    let (status, text) = blog.health();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("deleted"), "{text}");
    let (status, text) = send(&peer, "bob", &blog, &follow(&peer, "bob", &blog, 1));
    assert_eq!(
        status, 503,
        "a follow after the deletion is refused: {text}"
    );

    // The alarm names the file and the fix, and what the companion held is
    // saved next to it.
    wait_until("a rescued copy", &blog, || rescued_copies(&blog).len() == 1);
    let rescued = rescued_copies(&blog).remove(0);
    wait_until("the alarm with the copy", &blog, || {
        blog.log()
            .contains(&format!("mv {} {}", rescued.display(), db.display()))
    });
    let log = blog.log();
    assert!(
        error_lines(&log)
            .iter()
            .any(|l| l.contains(&db.display().to_string()) && l.contains("Stop the companion")),
        "{log}"
    );

    // Restarted, it does not start over with no followers...
    assert_eq!(blog.terminate(), Some(0), "{}", blog.log());
    let (code, out) = blog.launch_refused();
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("is missing") && out.contains(&format!("mv {}", rescued.display())),
        "{out}"
    );
    assert!(!db.exists(), "no empty database was created");
    let (ok, _, err) = blog.backup_cli(&[]);
    assert!(!ok && err.contains("is missing"), "{err}");
    assert!(
        !out.contains("listening"),
        "it refuses before it listens: {out}"
    );

    // ...and with the saved copy put back as it says, nothing acknowledged is lost.
    for f in sidecars(&db) {
        let _ = std::fs::remove_file(f);
    }
    std::fs::rename(&rescued, &db).expect("put the copy back");
    blog.launch();
    let s = blog.wait_status("the restored follower", |s| s["incoming_backlog"] == 0);
    assert_eq!(s["followers"]["accepted"], 1, "{s}");
    let (_, listed, _) = blog.followers_cli(&["list"]);
    assert!(listed.contains(&peer.actor("alice")), "{listed}");
    assert!(!listed.contains(&peer.actor("bob")), "{listed}");
    // Bob's server retries, and now it lands.
    let (status, text) = send(&peer, "bob", &blog, &follow(&peer, "bob", &blog, 1));
    assert_eq!(status, 202, "{text}");
    blog.wait_status("two followers", |s| s["followers"]["accepted"] == 2);
}

/// Moves everything the companion wrote into the database file itself, so
/// damage done to the file is not hidden by newer pages in the journal.
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint completed");
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    use std::io::{Seek, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.seek(std::io::SeekFrom::Start(at)).expect("seek");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("sync");
}

fn damaged_database_is_refused(damage: impl Fn(&Path)) {
    let (mut blog, peer) = start();
    alice_follows(&blog, &peer);
    let db = blog.database();
    checkpoint(&db);
    damage(&db);

    wait_until("/healthz to see the damage", &blog, || {
        blog.health().0 == 503
    });
    let (_, text) = blog.health();
    assert!(text.contains("damaged"), "{text}");
    let (status, text) = send(&peer, "bob", &blog, &follow(&peer, "bob", &blog, 1));
    assert_eq!(status, 503, "{text}");
    let log = blog.log();
    assert!(
        error_lines(&log).iter().any(|l| l.contains("is damaged")
            && l.contains(&db.display().to_string())
            && l.contains("stoa backup")),
        "{log}"
    );

    blog.kill9();
    let (code, out) = blog.launch_refused();
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("the database {} is damaged", db.display()))
            && out.contains("stoa backup")
            && out.contains("aside"),
        "{out}"
    );
}

#[test]
fn a_database_with_a_damaged_header_is_refused_while_running_and_at_start() {
    damaged_database_is_refused(|db| overwrite(db, 0, &[0x55; 100]));
}

#[test]
fn a_database_with_damaged_pages_is_refused_while_running_and_at_start() {
    damaged_database_is_refused(|db| {
        let bytes = std::fs::read(db).expect("read");
        let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        let pages = bytes.len() / page_size;
        assert!(pages > 4, "{pages} pages");
        // Every b-tree page after the first gets an invalid header.
        for page in 1..pages {
            overwrite(db, (page * page_size) as u64, &[0xff; 12]);
        }
    });
}

#[test]
fn stoa_backup_copies_a_running_companion_and_the_copy_restores() {
    use std::os::unix::fs::PermissionsExt;
    let (mut blog, peer) = start();
    for (n, name) in ["alice", "bob"].iter().enumerate() {
        let (status, text) = send(&peer, name, &blog, &follow(&peer, name, &blog, n as u32));
        assert_eq!(status, 202, "{text}");
    }
    blog.wait_status("two followers", |s| s["followers"]["accepted"] == 2);

    let copy = blog.dir.path().join("copy.db");
    let (ok, out, err) = blog.backup_cli(&[copy.as_os_str()]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&copy.display().to_string()) && out.contains("2 followers"),
        "{out}"
    );
    let mode = std::fs::metadata(&copy).expect("copy").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let conn = rusqlite::Connection::open(&copy).expect("the copy opens");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let followers: i64 = conn
        .query_row(
            "SELECT count(*) FROM followers WHERE state = 'accepted'",
            [],
            |r| r.get(0),
        )
        .expect("followers");
    assert_eq!(followers, 2);
    drop(conn);

    // Never over an existing file.
    let before = std::fs::read(&copy).expect("copy");
    let (ok, _, err) = blog.backup_cli(&[copy.as_os_str()]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&copy).expect("copy"), before);

    // Without a name: next to the database, with the time in the name.
    let (ok, out, err) = blog.backup_cli(&[]);
    assert!(ok, "{err}");
    let dir = blog.database().with_file_name("");
    let named: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("companion folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("stoa-backup-"))
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(out.contains(&named[0].display().to_string()), "{out}");

    // Carol follows after the backup; restoring it goes back to two.
    let peer2 = Peer::start(&["carol"]);
    assert_eq!(
        send(&peer2, "carol", &blog, &follow(&peer2, "carol", &blog, 1)).0,
        202
    );
    blog.wait_status("three followers", |s| s["followers"]["accepted"] == 3);
    assert_eq!(blog.terminate(), Some(0), "{}", blog.log());
    let db = blog.database();
    for f in sidecars(&db) {
        let _ = std::fs::remove_file(f);
    }
    std::fs::copy(&copy, &db).expect("restore");
    blog.launch();
    let s = blog.wait_status("the restored database", |s| s["incoming_backlog"] == 0);
    assert_eq!(s["followers"]["accepted"], 2, "{s}");
}
