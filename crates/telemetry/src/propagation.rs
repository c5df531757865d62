//! Context propagation by the spec: `OTEL_PROPAGATORS` chooses the
//! propagators (default `tracecontext,baggage`; `none` turns propagation
//! off), [`Propagation::install`] makes them the global text-map propagator
//! for handler code, and the layers read and write the same headers through
//! [`extract`] and [`inject`].
//!
//! The layers read and write `traceparent` by hand instead of through the
//! SDK's `TraceContextPropagator`, which splits the value into a `Vec` and
//! parses each part through `str`: a cost on every call that is large beside
//! a small handler (see `docs/benchmarks.md`). Baggage, which few calls
//! carry, goes through the SDK's `BaggagePropagator`. The tests hold both
//! paths to the global propagator's answers, baggage included.

use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// Which propagators are on. Until [`Propagation::install`] runs (in
/// [`crate::init`]), the layers use the spec's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Propagation {
    pub(crate) trace_context: bool,
    pub(crate) baggage: bool,
}

static INSTALLED: OnceLock<Propagation> = OnceLock::new();

impl Propagation {
    /// `tracecontext,baggage`, the spec's default for `OTEL_PROPAGATORS`.
    pub(crate) const DEFAULT: Propagation = Propagation {
        trace_context: true,
        baggage: true,
    };

    /// Reads an `OTEL_PROPAGATORS` value (unset or blank is the default).
    /// Also returns the values it ignored, to be logged as warnings: the
    /// spec asks an SDK to warn about a value it does not know and go on.
    pub(crate) fn parse(value: Option<&str>) -> (Propagation, Vec<String>) {
        let names: Vec<String> = value
            .unwrap_or_default()
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return (Propagation::DEFAULT, Vec::new());
        }
        let off = Propagation {
            trace_context: false,
            baggage: false,
        };
        // `none` means no propagator at all, whatever else is listed.
        if names.iter().any(|name| name == "none") {
            let ignored = names.into_iter().filter(|name| name != "none").collect();
            return (off, ignored);
        }
        let mut chosen = off;
        let mut ignored = Vec::new();
        for name in names {
            match name.as_str() {
                "tracecontext" => chosen.trace_context = true,
                "baggage" => chosen.baggage = true,
                _ => ignored.push(name),
            }
        }
        (chosen, ignored)
    }

    /// The same choice as an SDK propagator, for `opentelemetry::global`.
    pub(crate) fn propagator(self) -> TextMapCompositePropagator {
        let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
        if self.trace_context {
            propagators.push(Box::new(TraceContextPropagator::new()));
        }
        if self.baggage {
            propagators.push(Box::new(BaggagePropagator::new()));
        }
        TextMapCompositePropagator::new(propagators)
    }

    /// Makes this choice the layers' and the global propagator. Only the
    /// first call counts.
    pub(crate) fn install(self) {
        if INSTALLED.set(self).is_ok() {
            global::set_text_map_propagator(self.propagator());
        }
    }

    fn current() -> Propagation {
        INSTALLED.get().copied().unwrap_or(Propagation::DEFAULT)
    }
}

/// The caller's context from a request's headers: its trace (the parent of
/// a server span) and its baggage. Without a valid `traceparent` the span
/// starts a trace of its own.
pub(crate) fn extract(headers: &http::HeaderMap) -> Context {
    extract_with(Propagation::current(), headers)
}

fn extract_with(propagation: Propagation, headers: &http::HeaderMap) -> Context {
    let cx = if propagation.trace_context {
        remote_parent(headers)
    } else {
        Context::new()
    };
    if propagation.baggage && headers.contains_key(BAGGAGE) {
        BaggagePropagator::new().extract_with_context(&cx, &HeaderExtractor(headers))
    } else {
        cx
    }
}

/// Writes `cx` into outgoing `headers`: the trace as `traceparent` (and
/// `tracestate`, when it has entries) and the baggage, if any.
pub(crate) fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    inject_with(Propagation::current(), cx, headers);
}

fn inject_with(propagation: Propagation, cx: &Context, headers: &mut http::HeaderMap) {
    if propagation.trace_context {
        inject_trace_context(cx, headers);
    }
    if propagation.baggage {
        // It writes nothing for a context without baggage.
        BaggagePropagator::new().inject_context(cx, &mut HeaderInjector(headers));
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// The caller's trace from the W3C `traceparent` (and `tracestate`).
fn remote_parent(headers: &http::HeaderMap) -> Context {
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

/// Writes the W3C `traceparent` of `cx` (and `tracestate`, when it has
/// entries: an empty one is left out).
fn inject_trace_context(cx: &Context, headers: &mut http::HeaderMap) {
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

#[cfg(test)]
mod tests;
