//! Pre-resolved per-method and per-route telemetry: the histogram handle for
//! each status is built once, on first use, instead of on every call (a
//! label set and a registry lookup each time). Span names are built only for
//! recorded spans (see `call_span`).
//!
//! The caches only grow with what the service really serves: entries for
//! unknown gRPC methods and unmatched routes are never stored (they share
//! the `_OTHER` entry), so no client can grow them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use metrics::Histogram;

/// A map for the per-call lookups. foldhash instead of the standard SipHash:
/// hashing a gRPC path with SipHash cost every call about 250 instructions.
/// Flooding needs inserts, and only served methods and routes are inserted;
/// the seed is random all the same.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A bounded cache from a key (a gRPC path, an HTTP route) to its entry.
pub(crate) struct Cache<E> {
    entries: RwLock<FastMap<Box<str>, Arc<E>>>,
}

impl<E> Default for Cache<E> {
    fn default() -> Cache<E> {
        Cache {
            entries: RwLock::default(),
        }
    }
}

impl<E> Cache<E> {
    pub(crate) fn get(&self, key: &str) -> Option<Arc<E>> {
        self.entries.read().ok()?.get(key).cloned()
    }

    /// Stores `entry` under `key`, unless another call already did.
    pub(crate) fn insert(&self, key: &str, entry: Arc<E>) {
        if let Ok(mut entries) = self.entries.write() {
            entries.entry(key.into()).or_insert(entry);
        }
    }
}

impl<E> std::fmt::Debug for Cache<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.read().map_or(0, |e| e.len());
        f.debug_struct("Cache").field("entries", &len).finish()
    }
}

/// Histogram handles by a small status index, each registered on first use.
pub(crate) struct Histograms<const N: usize> {
    handles: [OnceLock<Histogram>; N],
}

impl<const N: usize> Default for Histograms<N> {
    fn default() -> Histograms<N> {
        Histograms {
            handles: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl<const N: usize> Histograms<N> {
    /// The handle for `index` (below `N`), made by `register` the first time.
    pub(crate) fn get(&self, index: usize, register: impl FnOnce() -> Histogram) -> &Histogram {
        self.handles[index.min(N - 1)].get_or_init(register)
    }
}

/// The Prometheus label of an OpenTelemetry attribute, as the OpenTelemetry
/// Prometheus exporters name it: `rpc.method` is `rpc_method`.
pub(crate) fn prometheus_label(attribute: &str) -> String {
    attribute.replace('.', "_")
}
