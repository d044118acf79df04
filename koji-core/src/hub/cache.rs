//! A cache of read results, valid while the database's change generation
//! ([`crate::db::Db::generation`]) stays the same. Any committed transaction
//! (here, or on another hub sharing the PostgreSQL database) invalidates all
//! of it, so a cached answer is never older than the last commit we know of.

use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Total weight (see [`ResultCache::put_weighted`]) kept before the cache
/// starts over: a bound on memory, whatever the size of single answers.
const MAX_WEIGHT: usize = 2_000_000;

/// Answers of type `V` (decoded values here; transports may keep their
/// encoded bytes in one of their own) by request key. Only answers of the
/// newest generation are kept: a newer one empties the cache.
pub struct ResultCache<V = Json, K = String> {
    map: Mutex<Entries<V, K>>,
    max_weight: usize,
}

struct Entries<V, K> {
    generation: u64,
    weight: usize,
    map: HashMap<K, (u64, Arc<V>)>,
}

impl<V, K> Default for ResultCache<V, K> {
    fn default() -> Self {
        Self::with_max_weight(MAX_WEIGHT)
    }
}

impl<V, K> ResultCache<V, K> {
    /// A cache holding at most `max_weight` (in the unit its callers give
    /// weights in); a single answer may take a quarter of it.
    pub fn with_max_weight(max_weight: usize) -> Self {
        ResultCache {
            map: Mutex::new(Entries {
                generation: 0,
                weight: 0,
                map: HashMap::new(),
            }),
            max_weight,
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
        let entries = self.map.lock().ok()?;
        match entries.map.get(key) {
            Some((g, v)) if *g == generation => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores an answer computed at `generation` (weight 1).
    pub fn put(&self, key: K, generation: u64, value: Arc<V>) {
        self.put_weighted(key, generation, value, 1)
    }

    /// Stores an answer computed at `generation`; `weight` is its rough
    /// size (e.g. the number of items of a list answer). An answer of an
    /// older generation than the cache's is not kept; one of a newer
    /// generation drops everything older first.
    pub fn put_weighted(&self, key: K, generation: u64, value: Arc<V>, weight: usize) {
        let weight = weight.max(1);
        if weight > self.max_weight / 4 {
            return;
        }
        if let Ok(mut e) = self.map.lock() {
            if generation < e.generation {
                return;
            }
            if generation > e.generation || e.weight + weight > self.max_weight {
                e.map.clear();
                e.weight = 0;
                e.generation = generation;
            }
            e.weight += weight;
            e.map.insert(key, (generation, value));
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
        // a newer generation empties the cache; an older answer is not kept
        c.put("n".into(), 3, Arc::new(Json::from(6)));
        assert_eq!(c.get("k", 1), None);
        c.put("old".into(), 2, Arc::new(Json::from(7)));
        assert_eq!(c.get("old", 2), None);
        assert_eq!(c.get("n", 3).as_deref(), Some(&Json::from(6)));
    }

    #[test]
    fn weight_bounds_memory() {
        let c: ResultCache = ResultCache::default();
        c.put_weighted("a".into(), 1, Arc::new(Json::from(1)), MAX_WEIGHT / 4);
        c.put_weighted("b".into(), 1, Arc::new(Json::from(2)), MAX_WEIGHT / 4);
        assert!(c.get("a", 1).is_some() && c.get("b", 1).is_some());
        // too big to keep at all
        c.put_weighted("huge".into(), 1, Arc::new(Json::from(3)), MAX_WEIGHT);
        assert_eq!(c.get("huge", 1), None);
        // filling up starts over
        for i in 0..3 {
            c.put_weighted(format!("c{i}"), 1, Arc::new(Json::from(i)), MAX_WEIGHT / 4);
        }
        assert_eq!(c.get("a", 1), None);
        assert!(c.get("c2", 1).is_some());
    }
}
