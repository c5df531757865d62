//! The span of one call, built directly on the OpenTelemetry API rather than
//! through `tracing`: no subscriber registry entry, no work on every poll
//! beyond making it the current context, and for an unsampled call nothing
//! but a trace id. The request's future carries it as the current
//! OpenTelemetry context; that is where log lines, outgoing calls and
//! handlers' own `#[instrument]` spans find it.

use std::borrow::Cow;
use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, global};
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

/// The caller's trace, from the W3C `traceparent` (and `tracestate`)
/// headers, as the parent of a server span. Without a valid `traceparent`
/// the span starts a trace of its own.
///
/// Read here rather than with the SDK's `TraceContextPropagator`, which
/// splits the value into a `Vec` and parses each part through `str`: on every
/// call that came to about 3,400 instructions, a twentieth of what
/// Recommendations does per call (see `docs/benchmarks.md`). The tests hold
/// it to the SDK's answers.
pub(crate) fn remote_parent(headers: &http::HeaderMap) -> Context {
    let Some((trace_id, span_id, flags)) = headers
        .get(TRACEPARENT)
        .and_then(|value| parse_traceparent(value.as_bytes()))
    else {
        return Context::new();
    };
    let trace_state = headers
        .get(TRACESTATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<TraceState>().ok())
        .unwrap_or_default();
    Context::new().with_remote_span_context(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        trace_state,
    ))
}

/// `{version}-{trace_id}-{span_id}-{flags}` in lowercase hex, as W3C Trace
/// Context defines it: version `00` is exactly 55 bytes; a later version may
/// append fields after another `-`, which are ignored, and `ff` is invalid.
/// All-zero ids are invalid. Of the flags only "sampled" is kept.
fn parse_traceparent(value: &[u8]) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = value.trim_ascii();
    let (head, rest) = value.split_at_checked(55)?;
    let dashes = [head[2], head[35], head[52]] == [b'-'; 3];
    let [version] = lower_hex::<1>(&head[..2])?;
    let versioned = match version {
        0 => rest.is_empty(),
        0xff => false,
        _ => rest.is_empty() || rest[0] == b'-',
    };
    if !dashes || !versioned {
        return None;
    }
    let trace_id = TraceId::from_bytes(lower_hex(&head[3..35])?);
    let span_id = SpanId::from_bytes(lower_hex(&head[36..52])?);
    let [flags] = lower_hex::<1>(&head[53..55])?;
    (trace_id != TraceId::INVALID && span_id != SpanId::INVALID).then(|| {
        (
            trace_id,
            span_id,
            TraceFlags::new(flags) & TraceFlags::SAMPLED,
        )
    })
}

/// Decodes exactly `2 * N` lowercase hex digits, in one pass: the `hex`
/// crate's decoder, after a separate check for lowercase, cost more than
/// twice as much.
fn lower_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(bytes)
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

    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry_http::HeaderExtractor;
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn incoming(traceparent: &str, tracestate: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_str(traceparent).unwrap());
        if let Some(state) = tracestate {
            headers.insert(TRACESTATE, HeaderValue::from_str(state).unwrap());
        }
        headers
    }

    fn read(headers: &http::HeaderMap) -> SpanContext {
        remote_parent(headers).span().span_context().clone()
    }

    /// What the SDK's propagator reads: the oracle.
    fn read_by_sdk(headers: &http::HeaderMap) -> SpanContext {
        let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        cx.span().span_context().clone()
    }

    #[test]
    fn traceparents_read_as_the_sdk_propagator_reads_them() {
        let cases = [
            (format!("00-{TRACE}-{SPAN}-01"), None),
            (format!("00-{TRACE}-{SPAN}-00"), None),
            // Level 2's random-id flag beside "sampled": only "sampled" is kept.
            (format!("00-{TRACE}-{SPAN}-03"), None),
            (format!(" 00-{TRACE}-{SPAN}-01\t"), None),
            (format!("00-{TRACE}-{SPAN}-01"), Some("vendor=x,other=y")),
            (format!("00-{TRACE}-{SPAN}-01"), Some("not a tracestate")),
            // A later version: its extra fields are ignored.
            (format!("cc-{TRACE}-{SPAN}-01"), None),
            (format!("cc-{TRACE}-{SPAN}-01-what-comes-later"), None),
            // Invalid: each is ignored, and the call starts its own trace.
            (String::new(), None),
            (format!("ff-{TRACE}-{SPAN}-01"), None),
            (format!("00-{TRACE}-{SPAN}-01-extra"), None),
            (format!("cc-{TRACE}-{SPAN}-01x"), None),
            (format!("00-{}-{SPAN}-01", TRACE.to_uppercase()), None),
            (format!("00-{TRACE}-{}-01", SPAN.to_uppercase()), None),
            (format!("00-{}-{SPAN}-01", "0".repeat(32)), None),
            (format!("00-{TRACE}-{}-01", "0".repeat(16)), None),
            (format!("00-{}g-{SPAN}-01", &TRACE[1..]), None),
            (format!("00_{TRACE}_{SPAN}_01"), None),
            (format!("00-{TRACE}{SPAN}-01"), None),
            (format!("0x-{TRACE}-{SPAN}-01"), None),
        ];
        for (traceparent, tracestate) in cases {
            let headers = incoming(&traceparent, tracestate);
            assert_eq!(
                read(&headers),
                read_by_sdk(&headers),
                "{traceparent:?} {tracestate:?}"
            );
        }
    }

    #[test]
    fn traceparents_are_held_to_the_w3c_format_where_the_sdk_is_lenient() {
        // Ids shorter than their fixed width: the SDK pads them with zeros.
        let short = incoming(&format!("00-4bf9-{SPAN}-01"), None);
        assert!(read_by_sdk(&short).is_valid());
        assert!(!read(&short).is_valid());
    }

    #[test]
    fn without_a_traceparent_there_is_no_parent() {
        let headers = http::HeaderMap::new();
        assert!(!read(&headers).is_valid());
        assert_eq!(read(&headers), read_by_sdk(&headers));
    }

    fn span_context(flags: TraceFlags, state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
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
