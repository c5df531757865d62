//! The layers' metric handles, kept: a histogram handle is registered once
//! per method or route and outcome, then reused. Looking it up in the
//! `metrics` registry on every call instead (a label set to build, hash and
//! compare) costs more than the rest of a layer (`docs/benchmarks.md`, "The
//! kit, readable"). Only what the service serves is kept: unknown methods
//! and unmatched routes share one `_OTHER` entry, so no client can grow
//! these maps.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use metrics::Histogram;

/// The maps' hasher. Their keys are names the service itself defines
/// (methods, route templates) and outcomes, never a client's input, so
/// SipHash's defence against crafted keys buys nothing here; foldhash hashes
/// a method's name in a fraction of the instructions.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Entries by name (a method, a route template), made on first use.
pub(crate) struct Known<E>(RwLock<Map<Box<str>, Arc<E>>>);

impl<E> Default for Known<E> {
    fn default() -> Known<E> {
        Known(RwLock::default())
    }
}

impl<E> Known<E> {
    /// The entry of `name`, made by `make` the first time.
    pub(crate) fn get(&self, name: &str, make: impl FnOnce() -> E) -> Arc<E> {
        if let Some(entry) = self
            .0
            .read()
            .ok()
            .and_then(|known| known.get(name).cloned())
        {
            return entry;
        }
        let entry = Arc::new(make());
        match self.0.write() {
            Ok(mut known) => known.entry(name.into()).or_insert(entry).clone(),
            Err(_) => entry,
        }
    }

    /// The entry of `name`, if it is known.
    pub(crate) fn find(&self, name: &str) -> Option<Arc<E>> {
        self.0.read().ok()?.get(name).cloned()
    }
}

impl<E> std::fmt::Debug for Known<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.0.read().map_or(0, |known| known.len());
        f.debug_struct("Known").field("entries", &len).finish()
    }
}

/// Histogram handles by outcome, each registered on first use.
pub(crate) struct Histograms<K>(RwLock<Map<K, Histogram>>);

impl<K> Default for Histograms<K> {
    fn default() -> Histograms<K> {
        Histograms(RwLock::default())
    }
}

impl<K> std::fmt::Debug for Histograms<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.0.read().map_or(0, |handles| handles.len());
        f.debug_struct("Histograms").field("handles", &len).finish()
    }
}

impl<K: Hash + Eq> Histograms<K> {
    /// The handle for `key`, registered by `register` the first time.
    pub(crate) fn get(&self, key: K, register: impl FnOnce() -> Histogram) -> Histogram {
        if let Some(handle) = self
            .0
            .read()
            .ok()
            .and_then(|handles| handles.get(&key).cloned())
        {
            return handle;
        }
        let handle = register();
        if let Ok(mut handles) = self.0.write() {
            handles.entry(key).or_insert_with(|| handle.clone());
        }
        handle
    }
}
