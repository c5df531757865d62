//! The span of one call, built directly on the OpenTelemetry API rather than
//! through `tracing` (ARCHITECTURE.md says why). The request's future
//! carries it as the current OpenTelemetry context; that is where log
//! lines, outgoing calls and handlers' own `#[instrument]` spans find it.

use std::borrow::Cow;
use std::sync::OnceLock;

use opentelemetry::trace::{
    SpanContext, SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, global};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The provider the layers' spans come from, installed by [`crate::init`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Makes `provider` the source of the layers' spans, and the global tracer
/// provider for code that uses `opentelemetry::global`. Only the first call
/// counts.
pub(crate) fn install_tracer_provider(provider: &SdkTracerProvider) {
    if PROVIDER.set(provider.clone()).is_ok() {
        global::set_tracer_provider(provider.clone());
    }
}

/// A layer was built before telemetry started, so it would have recorded
/// no span: start telemetry first, or leave the layer out explicitly.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "telemetry is not started: call `telemetry::init` before building the telemetry layers, \
     or serve without them explicitly"
)]
pub struct NotStarted;

/// The tracer of the layers, from the provider [`crate::init`] installed.
/// A layer takes it when it is built, and cannot be built without it: a
/// layer built too early fails with [`NotStarted`] instead of quietly
/// recording nothing.
///
/// It is the SDK's tracer itself, not the type-erased global one, so a span
/// costs no extra allocation.
#[derive(Clone)]
pub(crate) struct CallTracer(SdkTracer);

impl CallTracer {
    pub(crate) fn installed() -> Result<CallTracer, NotStarted> {
        let provider = PROVIDER.get().ok_or(NotStarted)?;
        let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
            .build();
        Ok(CallTracer(provider.tracer_with_scope(scope)))
    }

    /// Starts a span under `parent` and returns the context that holds it.
    pub(crate) fn start(
        &self,
        kind: SpanKind,
        parent: &Context,
        name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
    ) -> Context {
        let span = self
            .0
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&self.0, parent);
        parent.with_span(span)
    }
}

impl std::fmt::Debug for CallTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTracer").finish_non_exhaustive()
    }
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
