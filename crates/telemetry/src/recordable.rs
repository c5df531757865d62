//! The subscriber's global filter: which `tracing` spans and events are made
//! at all. A span is made only where the trace bridge can record it: at INFO
//! or above, or at a level `RUST_LOG` enables for its target, and under a
//! sampled call or as a root of its own. An event is made only where a log
//! layer (`RUST_LOG`) or the trace bridge (INFO and above) wants it.
//!
//! Per-layer filters cannot do this on their own: once any filter is
//! dynamic, the registry makes every span and asks about every event, even
//! those each layer then skips. That cost every call a span (and every
//! `h2` trace event a filter pass) before this filter existed.

use std::cmp;

use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};

use crate::call_span;

/// See the module docs. `logs` is the `RUST_LOG` filter of the log layers.
pub(crate) struct Recordable {
    logs: EnvFilter,
}

impl Recordable {
    pub(crate) fn new(logs: EnvFilter) -> Recordable {
        Recordable { logs }
    }
}

impl<S: Subscriber> Layer<S> for Recordable {
    /// What the registry may cache per callsite. The `tracing` bridge
    /// records spans at INFO and above, and events at INFO and above go to
    /// the logs or the bridge, so those are always of interest, spans only
    /// under a sampled call (decided per span, in `enabled`). Below INFO,
    /// only what `RUST_LOG` enables is, so a callsite it never enables (such
    /// as `h2`'s per-frame spans and events) costs nothing at all.
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let logged = if *metadata.level() <= Level::INFO {
            Interest::always()
        } else {
            Layer::<S>::register_callsite(&self.logs, metadata)
        };
        if metadata.is_span() && !logged.is_never() {
            Interest::sometimes()
        } else {
            logged
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, cx: Context<'_, S>) -> bool {
        let traced_level = *metadata.level() <= Level::INFO;
        if metadata.is_span() {
            (traced_level || self.logs.enabled(metadata, cx))
                && call_span::current_is_sampled_or_root()
        } else {
            traced_level || self.logs.enabled(metadata, cx)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let logs = self.logs.max_level_hint().unwrap_or(LevelFilter::TRACE);
        Some(cmp::max(LevelFilter::INFO, logs))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Counts the spans the registry makes.
    #[derive(Clone, Default)]
    struct SpansMade(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for SpansMade {
        fn on_new_span(
            &self,
            _: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: Context<'_, S>,
        ) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Makes an INFO and a DEBUG span under a caller's context with `flags`
    /// (or none), with `log_filter` as RUST_LOG, and returns how many spans
    /// were made.
    fn spans_made_under(flags: Option<TraceFlags>, log_filter: &str) -> usize {
        let made = SpansMade::default();
        let subscriber = tracing_subscriber::registry()
            .with(Recordable::new(EnvFilter::new(log_filter)))
            .with(made.clone());
        let cx = match flags {
            Some(flags) => {
                opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                    TraceId::from(1),
                    SpanId::from(1),
                    flags,
                    true,
                    TraceState::default(),
                ))
            }
            None => opentelemetry::Context::new(),
        };
        let _current = cx.attach();
        tracing::subscriber::with_default(subscriber, || {
            let _info = tracing::info_span!("work").entered();
            let _debug = tracing::debug_span!("detail").entered();
        });
        made.0.load(Ordering::Relaxed)
    }

    #[test]
    fn info_spans_are_made_under_a_sampled_call_or_as_roots() {
        assert_eq!(spans_made_under(Some(TraceFlags::SAMPLED), "info"), 1);
        assert_eq!(spans_made_under(None, "info"), 1);
    }

    #[test]
    fn debug_spans_are_made_where_rust_log_enables_debug_for_their_target() {
        assert_eq!(spans_made_under(Some(TraceFlags::SAMPLED), "debug"), 2);
        let own_target = concat!("info,", module_path!(), "=debug");
        assert_eq!(spans_made_under(Some(TraceFlags::SAMPLED), own_target), 2);
        assert_eq!(
            spans_made_under(Some(TraceFlags::SAMPLED), "info,h2=debug"),
            1
        );
    }

    #[test]
    fn no_span_is_made_under_an_unsampled_call() {
        assert_eq!(spans_made_under(Some(TraceFlags::default()), "debug"), 0);
    }
}
