//! Context propagation by the spec: `OTEL_PROPAGATORS` chooses the
//! propagators (default `tracecontext,baggage`; `none` turns propagation
//! off), and [`install`] makes them OpenTelemetry's global text-map
//! propagator for handler code. The layers read and write the same headers
//! through [`extract`] and [`inject`]: `traceparent` by the fast path in
//! `traceparent.rs`, baggage by the SDK's own propagator. The tests hold the
//! two to the global propagator's answers.

use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceState};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::traceparent;

/// Which propagators are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Propagation {
    pub(crate) trace_context: bool,
    pub(crate) baggage: bool,
}

/// The choice [`install`] made; until then, the spec's default.
static INSTALLED: OnceLock<Propagation> = OnceLock::new();

impl Propagation {
    /// `tracecontext,baggage`, the spec's default.
    const DEFAULT: Propagation = Propagation {
        trace_context: true,
        baggage: true,
    };

    /// Reads an `OTEL_PROPAGATORS` value (unset or blank is the default),
    /// and returns the names it ignored, to be logged as warnings: the spec
    /// asks an SDK to warn about a value it does not know and go on. `none`
    /// means no propagator, whatever else is listed.
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
        let none = names.iter().any(|name| name == "none");
        let mut chosen = Propagation {
            trace_context: false,
            baggage: false,
        };
        let mut ignored = Vec::new();
        for name in names {
            match name.as_str() {
                "none" => {}
                _ if none => ignored.push(name),
                "tracecontext" => chosen.trace_context = true,
                "baggage" => chosen.baggage = true,
                _ => ignored.push(name),
            }
        }
        (chosen, ignored)
    }

    /// The same choice as the SDK's propagators.
    fn propagator(self) -> TextMapCompositePropagator {
        let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
        if self.trace_context {
            propagators.push(Box::new(TraceContextPropagator::new()));
        }
        if self.baggage {
            propagators.push(Box::new(BaggagePropagator::new()));
        }
        TextMapCompositePropagator::new(propagators)
    }
}

/// Makes `choice` the layers' and, as the SDK's propagators, the global
/// one. Only the first call counts.
pub(crate) fn install(choice: Propagation) {
    if INSTALLED.set(choice).is_ok() {
        global::set_text_map_propagator(choice.propagator());
    }
}

fn installed() -> Propagation {
    INSTALLED.get().copied().unwrap_or(Propagation::DEFAULT)
}

/// The baggage key a request forces its trace to be kept with, and the
/// span attribute the server layers copy it to: the collector's tail
/// sampler keeps every trace with `sampling.priority` of 1 or more
/// (`deploy/otel-collector/config.yaml`). An engineer sends
/// `baggage: sampling.priority=1`; it travels with the rest of the baggage.
pub(crate) const SAMPLING_PRIORITY: &str = "sampling.priority";

/// The `sampling.priority` the caller's baggage asks for, as the span
/// attribute the tail sampler reads, if it is a whole number.
pub(crate) fn sampling_priority(parent: &Context) -> Option<KeyValue> {
    let baggage = parent.baggage();
    let priority = baggage
        .get(SAMPLING_PRIORITY)?
        .as_str()
        .trim()
        .parse::<i64>()
        .ok()?;
    Some(KeyValue::new(SAMPLING_PRIORITY, priority))
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// The caller's context from a request's headers: its trace (the parent of
/// a server span) and its baggage. Without a valid `traceparent` the span
/// starts a trace of its own.
pub(crate) fn extract(headers: &http::HeaderMap) -> Context {
    extract_with(installed(), headers)
}

fn extract_with(choice: Propagation, headers: &http::HeaderMap) -> Context {
    let parent = choice
        .trace_context
        .then(|| traceparent::parse(headers.get(TRACEPARENT)?.as_bytes()))
        .flatten();
    let cx = match parent {
        Some((trace_id, span_id, flags)) => {
            let state = headers
                .get(TRACESTATE)
                .and_then(|value| value.to_str().ok()?.parse::<TraceState>().ok())
                .unwrap_or_default();
            let remote = SpanContext::new(trace_id, span_id, flags, true, state);
            Context::new().with_remote_span_context(remote)
        }
        None => Context::new(),
    };
    if choice.baggage && headers.contains_key(BAGGAGE) {
        BaggagePropagator::new().extract_with_context(&cx, &HeaderExtractor(headers))
    } else {
        cx
    }
}

/// Writes `cx` into outgoing `headers`: `traceparent` (and `tracestate`,
/// unless it is empty) and `baggage`, as the installed propagators say.
pub(crate) fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    inject_with(installed(), cx, headers);
}

fn inject_with(choice: Propagation, cx: &Context, headers: &mut http::HeaderMap) {
    if choice.trace_context {
        let span = cx.span();
        let span_context = span.span_context();
        if let Some(mut value) = traceparent::format(span_context) {
            // New on every call: in the HTTP/2 header table it would only
            // push out the headers that do repeat, so it is never indexed.
            value.set_sensitive(true);
            headers.insert(TRACEPARENT, value);
            let state = span_context.trace_state().header();
            if let Ok(state) = HeaderValue::try_from(state)
                && !state.is_empty()
            {
                headers.insert(TRACESTATE, state);
            }
        }
    }
    if choice.baggage {
        // It writes nothing for a context without baggage.
        BaggagePropagator::new().inject_context(cx, &mut HeaderInjector(headers));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

    use super::*;

    /// Every combination of the two propagators, `none` included.
    fn choices() -> [Propagation; 4] {
        [(true, true), (true, false), (false, true), (false, false)].map(
            |(trace_context, baggage)| Propagation {
                trace_context,
                baggage,
            },
        )
    }

    /// What a context carries across a hop: its span context and baggage.
    fn carried(cx: &Context) -> (SpanContext, BTreeMap<String, String>) {
        let baggage = cx
            .baggage()
            .iter()
            .map(|(key, (value, metadata))| {
                (
                    key.to_string(),
                    format!("{}|{}", value.as_str(), metadata.as_str()),
                )
            })
            .collect();
        (cx.span().span_context().clone(), baggage)
    }

    #[test]
    fn the_layers_read_what_the_sdk_propagators_read_for_every_choice() {
        let traceparents = [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "not a traceparent",
        ];
        let tracestates = [None, Some("vendor=x,other=y"), Some("not a tracestate")];
        let baggages = [
            None,
            Some("tenant=acme,region=eu-west;prop=1".to_owned()),
            Some("encoded=a%20b%2Cc".to_owned()),
            // Over the W3C limit of 8192 bytes: dropped whole.
            Some(format!("big={}", "x".repeat(9000))),
        ];
        for choice in choices() {
            let sdk = choice.propagator();
            for traceparent in traceparents {
                for tracestate in tracestates {
                    for baggage in &baggages {
                        let mut headers = http::HeaderMap::new();
                        headers.insert(TRACEPARENT, HeaderValue::from_static(traceparent));
                        if let Some(state) = tracestate {
                            headers.insert(TRACESTATE, HeaderValue::from_static(state));
                        }
                        if let Some(baggage) = baggage {
                            headers.insert(BAGGAGE, baggage.parse().unwrap());
                        }
                        assert_eq!(
                            carried(&extract_with(choice, &headers)),
                            carried(&sdk.extract(&HeaderExtractor(&headers))),
                            "{choice:?} {headers:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_layers_write_what_the_sdk_propagators_write_for_every_choice() {
        for choice in choices() {
            let sdk = choice.propagator();
            for state in ["", "vendor=x"] {
                for baggage in [false, true] {
                    let mut cx = Context::new().with_remote_span_context(SpanContext::new(
                        TraceId::from(7),
                        SpanId::from(9),
                        TraceFlags::SAMPLED,
                        true,
                        state.parse().unwrap(),
                    ));
                    if baggage {
                        cx = cx.with_baggage([KeyValue::new("tenant", "a b")]);
                    }
                    let mut ours = http::HeaderMap::new();
                    inject_with(choice, &cx, &mut ours);
                    let mut theirs = http::HeaderMap::new();
                    sdk.inject_context(&cx, &mut HeaderInjector(&mut theirs));
                    // The SDK writes an empty `tracestate` too; the layers leave it out.
                    if theirs.get(TRACESTATE).is_some_and(|v| v.is_empty()) {
                        theirs.remove(TRACESTATE);
                    }
                    assert_eq!(ours, theirs, "{choice:?} {state:?} {baggage}");
                }
            }
        }
    }

    #[test]
    fn a_whole_sampling_priority_in_the_baggage_becomes_the_attribute() {
        let with = |value: &str| {
            let cx =
                Context::new().with_baggage([KeyValue::new(SAMPLING_PRIORITY, value.to_owned())]);
            sampling_priority(&cx)
        };
        assert_eq!(with("1"), Some(KeyValue::new(SAMPLING_PRIORITY, 1)));
        assert_eq!(with(" 2 "), Some(KeyValue::new(SAMPLING_PRIORITY, 2)));
        assert_eq!(with("yes"), None);
        assert_eq!(sampling_priority(&Context::new()), None);
    }

    #[test]
    fn none_turns_propagation_off_and_unknown_names_are_ignored() {
        let off = Propagation {
            trace_context: false,
            baggage: false,
        };
        assert_eq!(Propagation::parse(None), (Propagation::DEFAULT, vec![]));
        assert_eq!(
            Propagation::parse(Some(" ")),
            (Propagation::DEFAULT, vec![])
        );
        assert_eq!(Propagation::parse(Some("none")), (off, vec![]));
        assert_eq!(
            Propagation::parse(Some("none,tracecontext")),
            (off, vec!["tracecontext".to_owned()])
        );
        let (choice, ignored) = Propagation::parse(Some("b3, TraceContext,xray"));
        assert_eq!(
            choice,
            Propagation {
                trace_context: true,
                baggage: false
            }
        );
        assert_eq!(ignored, ["b3", "xray"]);
    }
}
