//! Context propagation by the spec: `OTEL_PROPAGATORS` chooses the
//! propagators (default `tracecontext,baggage`; `none` turns propagation
//! off), [`install`] makes them OpenTelemetry's global text-map
//! propagator, and the layers read and write request headers through that
//! same global propagator, so handler code and the layers always agree.

use http::HeaderValue;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceFlags};
use opentelemetry::{Context, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// The propagators an `OTEL_PROPAGATORS` value names (unset or blank is the
/// spec's default, `tracecontext,baggage`), and the names it ignored, to be
/// logged as warnings: the spec asks an SDK to warn about a value it does
/// not know and go on. `none` means no propagator, whatever else is listed.
pub(crate) fn parse(value: Option<&str>) -> (TextMapCompositePropagator, Vec<String>) {
    let mut names: Vec<String> = value
        .unwrap_or_default()
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        names = vec!["tracecontext".to_owned(), "baggage".to_owned()];
    }
    let none = names.iter().any(|name| name == "none");
    let mut chosen: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    let mut ignored = Vec::new();
    for name in names {
        match name.as_str() {
            "none" => {}
            _ if none => ignored.push(name),
            "tracecontext" => chosen.push(Box::new(TraceContextPropagator::new())),
            "baggage" => chosen.push(Box::new(BaggagePropagator::new())),
            _ => ignored.push(name),
        }
    }
    (TextMapCompositePropagator::new(chosen), ignored)
}

/// Makes `propagator` the global one, for the layers and for handler code.
pub(crate) fn install(propagator: TextMapCompositePropagator) {
    global::set_text_map_propagator(propagator);
}

/// The caller's context from a request's headers: its trace (the parent of
/// a server span) and its baggage. Without a valid `traceparent` the span
/// starts a trace of its own.
pub(crate) fn extract(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Writes `cx` into outgoing `headers`: `traceparent` (and `tracestate`)
/// and `baggage`, as the installed propagators say.
pub(crate) fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut HeaderInjector(headers));
    });
}

/// `00-{trace_id}-{span_id}-{flags}`: the value of a `traceresponse` header
/// (W3C Trace Context level 2), in `traceparent`'s format. `None` for a
/// context with no valid span.
pub(crate) fn trace_response(span_context: &SpanContext) -> Option<HeaderValue> {
    if !span_context.is_valid() {
        return None;
    }
    let flags = (span_context.trace_flags() & TraceFlags::SAMPLED).to_u8();
    let value = format!(
        "00-{}-{}-{flags:02x}",
        span_context.trace_id(),
        span_context.span_id()
    );
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;
    use opentelemetry::baggage::BaggageExt as _;
    use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId, TraceState};

    use super::*;

    /// Injects a sampled span context with baggage through the propagators
    /// `OTEL_PROPAGATORS=value` names, and returns the header names written.
    fn headers_written(value: Option<&str>) -> Vec<String> {
        let (propagator, _) = parse(value);
        let cx = Context::new()
            .with_remote_span_context(SpanContext::new(
                TraceId::from(7),
                SpanId::from(9),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ))
            .with_baggage([KeyValue::new("tenant", "a")]);
        let mut headers = http::HeaderMap::new();
        propagator.inject_context(&cx, &mut HeaderInjector(&mut headers));
        let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
        names.sort();
        names
    }

    /// What the W3C Trace Context propagator writes (the SDK's writes an
    /// empty `tracestate` too).
    const TRACE_CONTEXT: [&str; 2] = ["traceparent", "tracestate"];

    #[test]
    fn the_default_is_trace_context_and_baggage() {
        let both = ["baggage", TRACE_CONTEXT[0], TRACE_CONTEXT[1]];
        assert_eq!(headers_written(None), both);
        assert_eq!(headers_written(Some(" ")), both);
    }

    #[test]
    fn each_named_propagator_is_used_alone() {
        assert_eq!(headers_written(Some("tracecontext")), TRACE_CONTEXT);
        assert_eq!(headers_written(Some("Baggage")), ["baggage"]);
    }

    #[test]
    fn none_turns_propagation_off_and_unknown_names_are_ignored() {
        assert!(headers_written(Some("none")).is_empty());
        let (_, ignored) = parse(Some("none,tracecontext"));
        assert_eq!(ignored, ["tracecontext"]);
        let (_, ignored) = parse(Some("b3, tracecontext,xray"));
        assert_eq!(ignored, ["b3", "xray"]);
        assert_eq!(headers_written(Some("b3,tracecontext")), TRACE_CONTEXT);
    }

    #[test]
    fn a_trace_response_is_written_in_traceparent_format() {
        let span_context = SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            SpanId::from(0x00f0_67aa_0ba9_02b7),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        assert_eq!(
            trace_response(&span_context).unwrap(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(trace_response(&SpanContext::empty_context()), None);
    }
}
