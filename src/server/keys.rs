//! Finding the public key behind a `keyId`: memory, then the database,
//! then a signed fetch of the key document (whose result is stored).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::federation::remote_actor::{self, KeyDocError};
use crate::fetch::{Client, FetchError};
use crate::signatures::keys::PublicKey;
use crate::store::{self, Store, keys::KnownActor};

/// Keys kept in memory at most (then the map starts over from the database).
const MEMORY_LIMIT: usize = 50_000;

/// A usable key and its owner.
#[derive(Debug, Clone)]
pub struct Key {
    /// The actor that owns it.
    pub owner: String,
    /// The key.
    pub key: PublicKey,
}

/// Why no key could be found.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
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
}

/// Memory cache in front of the `actors` table.
#[derive(Debug, Default)]
pub struct KeyCache {
    memory: Mutex<HashMap<String, Key>>,
}

impl KeyCache {
    /// The key for `key_id`; `refresh` skips the caches (after a failed
    /// verification, in case the actor rotated its key). Blocking.
    pub fn get(
        &self,
        store: &Mutex<Store>,
        client: &Client,
        key_id: &str,
        refresh: bool,
    ) -> Result<Key, KeyError> {
        if !refresh {
            if let Some(k) = self.memory().get(key_id) {
                return Ok(k.clone());
            }
            let known = {
                let store = store.lock().unwrap_or_else(|e| e.into_inner());
                store::keys::by_key_id(store.conn(), key_id)?
            };
            if let Some(known) = known {
                let key = Key {
                    key: PublicKey::from_pem(&known.public_key)
                        .map_err(|_| KeyError::NotRsa(key_id.to_string()))?,
                    owner: known.actor,
                };
                self.remember(key_id, &key);
                return Ok(key);
            }
        }
        let doc = client.get_json(key_id)?;
        let found = remote_actor::read_key(&doc, key_id)?;
        let key = Key {
            key: PublicKey::from_pem(&found.pem)
                .map_err(|_| KeyError::NotRsa(key_id.to_string()))?,
            owner: found.owner.clone(),
        };
        {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            store::keys::put(
                store.conn(),
                &KnownActor {
                    key_id: key_id.to_string(),
                    actor: found.owner,
                    public_key: found.pem,
                    inbox: found.inbox,
                    shared_inbox: found.shared_inbox,
                    handle: found.handle,
                    fetched_at: store::now_ms(),
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

/// The shared handle.
pub type SharedKeys = Arc<KeyCache>;
