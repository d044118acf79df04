//! A cache of read results, valid while the database's change generation
//! ([`crate::db::Db::generation`]) stays the same. Any committed transaction
//! (here, or on another hub sharing the PostgreSQL database) invalidates all
//! of it, so a cached answer is never older than the last commit we know of.

use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 50_000;

/// Answers of type `V` (decoded values here; transports may keep their
/// encoded bytes in one of their own) by request key.
pub struct ResultCache<V = Json, K = String> {
    map: Mutex<HashMap<K, (u64, Arc<V>)>>,
}

impl<V, K> Default for ResultCache<V, K> {
    fn default() -> Self {
        ResultCache {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V, K: std::hash::Hash + Eq> ResultCache<V, K> {
    /// The answer stored under `key` at `generation`, if any.
    pub fn get<Q>(&self, key: &Q, generation: u64) -> Option<Arc<V>>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let map = self.map.lock().ok()?;
        match map.get(key) {
            Some((g, v)) if *g == generation => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores an answer computed at `generation`.
    pub fn put(&self, key: K, generation: u64, value: Arc<V>) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.retain(|_, (g, _)| *g == generation);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(key, (generation, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_with_the_generation() {
        let c: ResultCache = ResultCache::default();
        c.put("k".into(), 1, Arc::new(Json::from(5)));
        assert_eq!(c.get("k", 1).as_deref(), Some(&Json::from(5)));
        assert_eq!(c.get("k", 2), None);
        assert_eq!(c.get("other", 1), None);
    }
}
