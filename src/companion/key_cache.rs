//! Finding the public key behind a `keyId`: memory, then the database,
//! then a signed fetch of the key document, and of its owner's actor when
//! the key document is not the actor itself (a key counts only when its
//! owner lists it); the proven key is stored with its owner.
//!
//! A fetch can hold a blocking thread for the whole fetch timeout, and
//! anyone can make the companion fetch (a `keyId` on a server that never
//! answers). So fetches take a slot first: a few per host and a few in all,
//! waited for briefly and otherwise refused with 503 (the sender retries
//! later); the slot travels with the fetch onto its blocking thread, so a
//! client that hangs up cannot free it early. Known keys never wait behind
//! them: the memory lookup runs on the request's own task, and the
//! database lookup takes no slot. A key that stops verifying is fetched
//! again at most once per [`REFETCH_AFTER`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::companion::store::{self, Store, actors::KnownActor};
use crate::federation::remote_actor::{self, IdCheck, KeyDocError, LookupError};
use crate::fetch::{Client, FetchError};
use crate::signatures::keys::PublicKey;

/// Keys kept in memory at most (then the map starts over from the database).
const MEMORY_LIMIT: usize = 50_000;

/// Key fetches in flight at most, in all and per host. The blocking pool is
/// sized with room for [`MAX_FETCHES`] next to the delivery workers.
pub const MAX_FETCHES: usize = 16;
const MAX_FETCHES_PER_HOST: usize = 4;

/// How long a request waits for a fetch slot before it is answered 503.
const SLOT_WAIT: Duration = Duration::from_secs(5);

/// A key fetched this recently is not fetched again when a signature fails
/// to verify with it (a forger could otherwise make every request a fetch).
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// A usable key and its owner.
#[derive(Debug, Clone)]
pub struct Key {
    /// The actor that owns it.
    pub owner: String,
    /// The key.
    pub key: PublicKey,
    /// When it was fetched (milliseconds since the epoch).
    pub fetched_at: i64,
}

impl Key {
    /// Whether a failed verification may fetch this key again (the actor
    /// may have rotated it), or it was fetched too recently for that.
    pub fn may_refetch(&self, now_ms: i64) -> bool {
        now_ms - self.fetched_at >= REFETCH_AFTER.as_millis() as i64
    }
}

impl From<LookupError> for KeyLookupError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Fetch(f) => KeyLookupError::Fetch(f),
            LookupError::Doc(d) => KeyLookupError::Doc(d),
        }
    }
}

/// Why no key could be found.
#[derive(Debug, thiserror::Error)]
pub enum KeyLookupError {
    /// Fetching the key document failed.
    #[error("could not fetch the key: {0}")]
    Fetch(#[from] FetchError),
    /// The document holds no usable key.
    #[error("{0}")]
    Doc(#[from] KeyDocError),
    /// The PEM is not an RSA public key.
    #[error("the key {0} is not an RSA public key")]
    NotRsa(String),
    /// The database failed.
    #[error("database error: {0}")]
    Store(#[from] rusqlite::Error),
    /// Too many key fetches are in flight (for this host, or in all).
    #[error("too many key lookups are in progress{0}; try again later")]
    Busy(String),
}

/// Memory cache in front of the `actors` table, and the fetch slots.
#[derive(Debug)]
pub struct KeyCache {
    memory: Mutex<HashMap<String, Key>>,
    fetches: Arc<Semaphore>,
    per_host: HostSlots,
}

type HostSlots = Arc<Mutex<HashMap<String, Arc<Semaphore>>>>;

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache {
            memory: Mutex::default(),
            fetches: Arc::new(Semaphore::new(MAX_FETCHES)),
            per_host: HostSlots::default(),
        }
    }
}

/// Permission to fetch one key: while it lives, it counts against its
/// host's slots and the overall ones. Owned, so it can move onto the
/// blocking thread that does the fetch.
#[derive(Debug)]
pub struct FetchSlot {
    hosts: HostSlots,
    host: String,
    _host: Option<OwnedSemaphorePermit>,
    _all: Option<OwnedSemaphorePermit>,
}

impl Drop for FetchSlot {
    fn drop(&mut self) {
        self._host = None;
        // Forget hosts with nothing in flight, so the map stays small.
        let mut hosts = lock_hosts(&self.hosts);
        if let Some(s) = hosts.get(&self.host)
            && Arc::strong_count(s) == 1
            && s.available_permits() == MAX_FETCHES_PER_HOST
        {
            hosts.remove(&self.host);
        }
    }
}

impl KeyCache {
    /// The key for `key_id` if it is in memory. Never blocks.
    pub fn cached(&self, key_id: &str) -> Option<Key> {
        self.memory().get(key_id).cloned()
    }

    /// The key for `key_id` from the database (remembered in memory), if
    /// it was fetched before. Blocking (SQLite).
    pub fn stored(
        &self,
        store: &Mutex<Store>,
        key_id: &str,
    ) -> Result<Option<Key>, KeyLookupError> {
        let known = {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            store::actors::by_key_id(store.conn(), key_id)?
        };
        let Some(known) = known else {
            return Ok(None);
        };
        let key = Key {
            key: PublicKey::from_pem(&known.public_key)
                .map_err(|_| KeyLookupError::NotRsa(key_id.to_string()))?,
            owner: known.actor,
            fetched_at: known.fetched_at,
        };
        self.remember(key_id, &key);
        Ok(Some(key))
    }

    /// Waits (briefly) for a slot to fetch `key_id`; [`KeyLookupError::Busy`]
    /// when its host (whatever the port), or the companion as a whole, has
    /// too many fetches in flight.
    pub async fn fetch_slot(&self, key_id: &str) -> Result<FetchSlot, KeyLookupError> {
        let host = crate::config::url_host(key_id)
            .map(|h| without_port(&h).to_string())
            .unwrap_or_default();
        let for_host = lock_hosts(&self.per_host)
            .entry(host.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(MAX_FETCHES_PER_HOST)))
            .clone();
        let mut slot = FetchSlot {
            hosts: self.per_host.clone(),
            host,
            _host: None,
            _all: None,
        };
        let wait = async {
            slot._host = for_host.acquire_owned().await.ok();
            slot._all = self.fetches.clone().acquire_owned().await.ok();
        };
        if tokio::time::timeout(SLOT_WAIT, wait).await.is_err() {
            let which = if slot._host.is_none() {
                format!(" for {}", slot.host)
            } else {
                String::new()
            };
            return Err(KeyLookupError::Busy(which));
        }
        Ok(slot)
    }

    /// Fetches the key document for `key_id` (signed GET), stores what it
    /// says and remembers the key. Blocking (network, SQLite); call it
    /// holding a [`FetchSlot`].
    pub fn fetch(
        &self,
        store: &Mutex<Store>,
        client: &Client,
        key_id: &str,
    ) -> Result<Key, KeyLookupError> {
        let found = remote_actor::resolve_key(key_id, |url, check| match check {
            IdCheck::KeyDocument => client.get_document(url),
            IdCheck::Owner => client.get_json(url),
        })?;
        let fetched_at = store::now_ms();
        let key = Key {
            key: PublicKey::from_pem(&found.pem)
                .map_err(|_| KeyLookupError::NotRsa(key_id.to_string()))?,
            owner: found.owner.clone(),
            fetched_at,
        };
        {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            store::actors::put(
                store.conn(),
                &KnownActor {
                    key_id: key_id.to_string(),
                    actor: found.owner,
                    public_key: found.pem,
                    inbox: found.inbox,
                    shared_inbox: found.shared_inbox,
                    handle: found.handle,
                    fetched_at,
                },
            )?;
        }
        self.remember(key_id, &key);
        Ok(key)
    }

    /// Forgets an actor's keys (its account was deleted).
    pub fn forget_owner(&self, actor: &str) {
        self.memory().retain(|_, k| k.owner != actor);
    }

    fn remember(&self, key_id: &str, key: &Key) {
        let mut memory = self.memory();
        if memory.len() >= MEMORY_LIMIT {
            memory.clear();
        }
        memory.insert(key_id.to_string(), key.clone());
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn lock_hosts(hosts: &HostSlots) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Semaphore>>> {
    hosts.lock().unwrap_or_else(|e| e.into_inner())
}

/// `example.org` of `example.org:8443`, `[::1]` of `[::1]:80`: one server
/// does not get more fetch slots by naming more ports.
fn without_port(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(rest) => rest.find(']').map_or(host, |i| &host[..i + 2]),
        None => host.split(':').next().unwrap_or(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_do_not_make_more_hosts() {
        assert_eq!(without_port("example.org:8443"), "example.org");
        assert_eq!(without_port("example.org"), "example.org");
        assert_eq!(without_port("[::1]:80"), "[::1]");
        assert_eq!(without_port("[::1]"), "[::1]");
    }

    #[test]
    fn a_key_is_refetched_only_after_a_while() {
        let pair = crate::signatures::keys::generate().unwrap();
        let key = Key {
            owner: "https://a.example/u".into(),
            key: PublicKey::from_pem(&pair.public_pem).unwrap(),
            fetched_at: 1_000_000,
        };
        assert!(!key.may_refetch(1_000_000 + 59_999));
        assert!(key.may_refetch(1_000_000 + 60_000));
    }
}
