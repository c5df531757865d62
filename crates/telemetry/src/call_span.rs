//! The span of one call, built directly on the OpenTelemetry API rather than
//! through `tracing`: no subscriber registry entry, no work on every poll
//! beyond making it the current context, and for an unsampled call nothing
//! but a trace id. The request's future carries it as the current
//! OpenTelemetry context; that is where log lines, outgoing calls and
//! handlers' own `#[instrument]` spans find it.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{Span as _, SpanContext, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The tracer of the layers: the global tracer provider's, as
/// [`crate::init`] set it. A layer takes it when it is built, so build the
/// layers after `init`; built before, their spans are never recorded.
#[derive(Clone)]
pub(crate) struct CallTracer(Arc<BoxedTracer>);

impl CallTracer {
    pub(crate) fn from_global() -> CallTracer {
        let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        CallTracer(Arc::new(global::tracer_with_scope(scope)))
    }

    /// Starts a span under `parent` and returns the context that holds it.
    ///
    /// The sampler decides on the parent and the trace id alone, as every
    /// standard `OTEL_TRACES_SAMPLER` sampler does; so `describe` (the span's
    /// name and attributes) runs only for a span that is recorded, and an
    /// unsampled call allocates none of it.
    pub(crate) fn start(
        &self,
        kind: SpanKind,
        parent: &Context,
        describe: impl FnOnce() -> (Cow<'static, str>, Vec<KeyValue>),
    ) -> Context {
        let mut span = self
            .0
            .span_builder("")
            .with_kind(kind)
            .start_with_context(&*self.0, parent);
        if span.is_recording() {
            let (name, attributes) = describe();
            span.update_name(name);
            span.set_attributes(attributes);
        }
        parent.with_span(span)
    }
}

impl std::fmt::Debug for CallTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTracer").finish_non_exhaustive()
    }
}

/// The caller's trace, from the W3C `traceparent` header, as the parent of a
/// server span. Without the header the span starts a trace of its own.
pub(crate) fn remote_parent(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract_with_context(&Context::new(), &HeaderExtractor(headers))
}

/// Writes `cx` into outgoing `headers` as `traceparent`.
pub(crate) fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// Calls `call` with `cx` current, and keeps it current on every poll of
/// the future it returns.
pub(crate) fn in_context<F: Future>(cx: &Context, call: impl FnOnce() -> F) -> WithContext<F> {
    let future = {
        let _current = cx.clone().attach();
        call()
    };
    future.with_context(cx.clone())
}

/// The span context of the current context, if it has a valid span.
pub(crate) fn current_span_context() -> Option<SpanContext> {
    Context::map_current(|cx| {
        let span = cx.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| span_context.clone())
    })
}

/// Whether a new span under the current context could be recorded: it has
/// no parent (the sampler decides), or its parent is sampled. A child of an
/// unsampled call never is, so the `tracing` bridge skips it.
pub(crate) fn current_is_sampled_or_root() -> bool {
    Context::map_current(|cx| {
        let span = cx.span();
        let span_context = span.span_context();
        !span_context.is_valid() || span_context.is_sampled()
    })
}
