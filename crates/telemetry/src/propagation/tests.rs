//! The layers' hand-written path, held to the SDK propagators' answers for
//! every choice of `OTEL_PROPAGATORS`, baggage included.

use std::collections::{BTreeMap, HashMap};

use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;

use super::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// Every combination of the two propagators, `none` included.
const CHOICES: [Propagation; 4] = [
    Propagation {
        trace_context: true,
        baggage: true,
    },
    Propagation {
        trace_context: true,
        baggage: false,
    },
    Propagation {
        trace_context: false,
        baggage: true,
    },
    Propagation {
        trace_context: false,
        baggage: false,
    },
];

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

/// What a context carries across a hop: its span context and its baggage.
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

fn traceparents() -> Vec<String> {
    vec![
        format!("00-{TRACE}-{SPAN}-01"),
        format!("00-{TRACE}-{SPAN}-00"),
        // Level 2's random-id flag beside "sampled": only "sampled" is kept.
        format!("00-{TRACE}-{SPAN}-03"),
        format!(" 00-{TRACE}-{SPAN}-01\t"),
        // A later version: its extra fields are ignored.
        format!("cc-{TRACE}-{SPAN}-01"),
        format!("cc-{TRACE}-{SPAN}-01-what-comes-later"),
        // Invalid: each is ignored, and the call starts its own trace.
        String::new(),
        format!("ff-{TRACE}-{SPAN}-01"),
        format!("00-{TRACE}-{SPAN}-01-extra"),
        format!("cc-{TRACE}-{SPAN}-01x"),
        format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
        format!("00-{TRACE}-{}-01", SPAN.to_uppercase()),
        format!("00-{}-{SPAN}-01", "0".repeat(32)),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("00-{}g-{SPAN}-01", &TRACE[1..]),
        format!("00_{TRACE}_{SPAN}_01"),
        format!("00-{TRACE}{SPAN}-01"),
        format!("0x-{TRACE}-{SPAN}-01"),
    ]
}

fn baggages() -> Vec<Option<String>> {
    vec![
        None,
        Some("tenant=acme".to_owned()),
        Some("tenant=acme,region=eu-west;prop=1".to_owned()),
        Some(" spaced = out ".to_owned()),
        Some("encoded=a%20b%2Cc".to_owned()),
        Some("novalue,=nokey,ok=1".to_owned()),
        Some(String::new()),
        // Over the W3C limit of 8192 bytes: dropped whole.
        Some(format!("big={}", "x".repeat(9000))),
    ]
}

#[test]
fn extraction_matches_the_sdk_propagators_for_every_choice() {
    let tracestates = [None, Some("vendor=x,other=y"), Some("not a tracestate")];
    for choice in CHOICES {
        let sdk = choice.propagator();
        for traceparent in traceparents() {
            for tracestate in tracestates {
                for baggage in baggages() {
                    let mut pairs = vec![("traceparent", traceparent.as_str())];
                    pairs.extend(tracestate.map(|state| ("tracestate", state)));
                    pairs.extend(baggage.as_deref().map(|b| ("baggage", b)));
                    let headers = headers(&pairs);
                    assert_eq!(
                        carried(&extract_with(choice, &headers)),
                        carried(&sdk.extract(&HeaderExtractor(&headers))),
                        "{choice:?} {pairs:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn traceparents_are_held_to_the_w3c_format_where_the_sdk_is_lenient() {
    // Ids shorter than their fixed width: the SDK pads them with zeros.
    let short = headers(&[("traceparent", &format!("00-4bf9-{SPAN}-01"))]);
    let sdk = TraceContextPropagator::new().extract(&HeaderExtractor(&short));
    assert!(sdk.span().span_context().is_valid());
    assert!(!extract(&short).span().span_context().is_valid());
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
fn injection_matches_the_sdk_propagators_for_every_choice() {
    let state = TraceState::from_key_value([("vendor", "x")]).unwrap();
    let span_contexts = [
        None,
        Some(span_context(TraceFlags::SAMPLED, TraceState::default())),
        Some(span_context(TraceFlags::default(), state)),
        // A flag this version does not define, as a caller may send.
        Some(span_context(TraceFlags::new(0x03), TraceState::default())),
    ];
    let baggages: [&[KeyValue]; 3] = [
        &[],
        &[KeyValue::new("tenant", "acme")],
        &[
            KeyValue::new("tenant", "acme"),
            KeyValue::new("note", "a b,c"),
        ],
    ];
    for choice in CHOICES {
        for span_context in &span_contexts {
            for baggage in baggages {
                let mut cx = Context::new();
                if let Some(span_context) = span_context {
                    cx = cx.with_remote_span_context(span_context.clone());
                }
                let cx = cx.with_baggage(baggage.to_vec());
                let mut expected = HashMap::new();
                choice.propagator().inject_context(&cx, &mut expected);
                // An empty `tracestate` is left out: absent and empty mean the same.
                expected.retain(|_, value: &mut String| !value.is_empty());
                let mut written = http::HeaderMap::new();
                inject_with(choice, &cx, &mut written);
                let written: HashMap<String, String> = written
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
                    .collect();
                assert_eq!(written, expected, "{choice:?} {span_context:?} {baggage:?}");
            }
        }
    }
}

#[test]
fn the_traceparent_is_never_indexed_by_hpack() {
    let cx = Context::new()
        .with_remote_span_context(span_context(TraceFlags::SAMPLED, TraceState::default()));
    let mut headers = http::HeaderMap::new();
    inject(&cx, &mut headers);
    assert!(headers["traceparent"].is_sensitive());
}

#[test]
fn an_invalid_span_context_writes_nothing() {
    let mut headers = http::HeaderMap::new();
    inject(&Context::new(), &mut headers);
    assert!(headers.is_empty());
    assert_eq!(trace_header(&SpanContext::empty_context()), None);
}

#[test]
fn otel_propagators_is_read_as_the_spec_says() {
    let parse = |value: Option<&str>| Propagation::parse(value);
    let off = Propagation {
        trace_context: false,
        baggage: false,
    };
    assert_eq!(parse(None), (Propagation::DEFAULT, vec![]));
    assert_eq!(parse(Some(" ")), (Propagation::DEFAULT, vec![]));
    assert_eq!(
        parse(Some("tracecontext,baggage")),
        (Propagation::DEFAULT, vec![])
    );
    assert_eq!(parse(Some("none")), (off, vec![]));
    assert_eq!(
        parse(Some("Baggage")),
        (
            Propagation {
                trace_context: false,
                baggage: true
            },
            vec![]
        )
    );
    // Unknown and unsupported values are ignored, and named for a warning.
    assert_eq!(
        parse(Some("tracecontext, b3,tracecontex")),
        (
            Propagation {
                trace_context: true,
                baggage: false
            },
            vec!["b3".to_owned(), "tracecontex".to_owned()]
        )
    );
    // `none` wins over anything listed beside it, which is named.
    assert_eq!(
        parse(Some("none,tracecontext")),
        (off, vec!["tracecontext".to_owned()])
    );
}
