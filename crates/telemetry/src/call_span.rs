//! The span of one call, built directly on the OpenTelemetry API rather than
//! through `tracing`: no subscriber registry entry, no work on every poll
//! beyond making it the current context, and for an unsampled call nothing
//! but a trace id. The request's future carries it as the current
//! OpenTelemetry context; that is where log lines, outgoing calls and
//! handlers' own `#[instrument]` spans find it.

use std::borrow::Cow;
use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, TraceContextExt as _, TraceFlags, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, global};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The provider the layers' spans come from.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Makes `provider` the source of the layers' spans, and the global tracer
/// provider for code that uses `opentelemetry::global`. [`crate::init`] calls
/// it; a test harness that builds its own provider calls it instead. Only
/// the first call counts.
pub fn install_tracer_provider(provider: &SdkTracerProvider) {
    if PROVIDER.set(provider.clone()).is_ok() {
        global::set_tracer_provider(provider.clone());
    }
}

/// The tracer of the layers, taken from the installed provider when a layer
/// is built: build the layers after [`crate::init`]. Built before, they
/// start no spans of their own and pass the caller's trace through.
///
/// It is the SDK's tracer itself, not the type-erased global one, so a span
/// costs no extra allocation.
#[derive(Clone)]
pub(crate) struct CallTracer(Option<SdkTracer>);

impl CallTracer {
    pub(crate) fn new() -> CallTracer {
        let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        CallTracer(
            PROVIDER
                .get()
                .map(|provider| provider.tracer_with_scope(scope)),
        )
    }

    /// Starts a span under `parent` and returns the context that holds it.
    ///
    /// The sampler decides on the parent and the trace id alone, as every
    /// standard `OTEL_TRACES_SAMPLER` sampler does; so `describe` (the span's
    /// name and attributes) runs only for a span that is recorded. An
    /// unsampled span is kept as its ids alone: they are all its children
    /// and the `traceparent` of outgoing calls need.
    pub(crate) fn start(
        &self,
        kind: SpanKind,
        parent: &Context,
        describe: impl FnOnce() -> (Cow<'static, str>, Vec<KeyValue>),
    ) -> Context {
        let Some(tracer) = &self.0 else {
            return parent.clone();
        };
        let mut span = tracer
            .span_builder("")
            .with_kind(kind)
            .start_with_context(tracer, parent);
        if !span.is_recording() {
            // Ending a span that records nothing does nothing; its context
            // carries the ids on.
            return parent.with_remote_span_context(span.span_context().clone());
        }
        let (name, attributes) = describe();
        span.update_name(name);
        span.set_attributes(attributes);
        parent.with_span(span)
    }
}

impl std::fmt::Debug for CallTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTracer")
            .field("installed", &self.0.is_some())
            .finish()
    }
}

/// The caller's trace, from the W3C `traceparent` header, as the parent of a
/// server span. Without the header the span starts a trace of its own.
pub(crate) fn remote_parent(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract_with_context(&Context::new(), &HeaderExtractor(headers))
}

/// Writes `cx` into outgoing `headers` as the W3C `traceparent` (and
/// `tracestate`, when it has entries: an empty one is left out).
pub(crate) fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    let span = cx.span();
    let span_context = span.span_context();
    let Some(mut traceparent) = trace_header(span_context) else {
        return;
    };
    // New on every call: in the HTTP/2 header table it would only push out
    // the headers that do repeat, so it is never indexed.
    traceparent.set_sensitive(true);
    headers.insert(TRACEPARENT, traceparent);
    let state = span_context.trace_state().header();
    if !state.is_empty()
        && let Ok(state) = HeaderValue::try_from(state)
    {
        headers.insert(TRACESTATE, state);
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// `00-{trace_id}-{span_id}-{flags}`: a W3C `traceparent`, and the value of
/// a `traceresponse`. Of the flags only "sampled" is written, as the SDK's
/// propagator does. `None` for a context with no valid span.
pub(crate) fn trace_header(span_context: &SpanContext) -> Option<HeaderValue> {
    if !span_context.is_valid() {
        return None;
    }
    let mut value = *b"00-00000000000000000000000000000000-0000000000000000-00";
    hex::encode_to_slice(span_context.trace_id().to_bytes(), &mut value[3..35]).ok()?;
    hex::encode_to_slice(span_context.span_id().to_bytes(), &mut value[36..52]).ok()?;
    let flags = span_context.trace_flags() & TraceFlags::SAMPLED;
    hex::encode_to_slice([flags.to_u8()], &mut value[53..55]).ok()?;
    HeaderValue::from_bytes(&value).ok()
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceId, TraceState};

    use super::*;

    fn span_context(flags: TraceFlags, state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            SpanId::from(0x00f0_67aa_0ba9_02b7),
            flags,
            false,
            state,
        )
    }

    #[test]
    fn injected_headers_are_what_the_sdk_propagator_writes() {
        let state = TraceState::from_key_value([("vendor", "x")]).unwrap();
        for (flags, state) in [
            (TraceFlags::SAMPLED, TraceState::default()),
            (TraceFlags::default(), state),
            // A flag this version does not define, as a caller may send.
            (TraceFlags::new(0x03), TraceState::default()),
        ] {
            let cx = Context::new().with_remote_span_context(span_context(flags, state));
            let mut expected = HashMap::new();
            TraceContextPropagator::new().inject_context(&cx, &mut expected);
            // An empty `tracestate` is left out: absent and empty mean the same.
            expected.retain(|_, value: &mut String| !value.is_empty());
            let mut headers = http::HeaderMap::new();
            inject(&cx, &mut headers);
            let written: HashMap<String, String> = headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
                .collect();
            assert_eq!(written, expected);
            assert!(headers["traceparent"].is_sensitive());
        }
    }

    #[test]
    fn an_invalid_span_context_writes_nothing() {
        let mut headers = http::HeaderMap::new();
        inject(&Context::new(), &mut headers);
        assert!(headers.is_empty());
        assert_eq!(trace_header(&SpanContext::empty_context()), None);
    }

    #[test]
    fn an_injected_traceparent_extracts_to_the_same_span_context() {
        let sent = span_context(TraceFlags::SAMPLED, TraceState::default());
        let mut headers = http::HeaderMap::new();
        inject(
            &Context::new().with_remote_span_context(sent.clone()),
            &mut headers,
        );
        let received = remote_parent(&headers);
        let span = received.span();
        assert_eq!(span.span_context().trace_id(), sent.trace_id());
        assert_eq!(span.span_context().span_id(), sent.span_id());
        assert!(span.span_context().is_sampled());
        assert!(span.span_context().is_remote());
    }
}
