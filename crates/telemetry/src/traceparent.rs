//! The W3C `traceparent` header, read and written without allocating: the
//! one hand-written fast path of propagation. It does what the SDK's
//! `TraceContextPropagator` does for this header, at a fraction of the
//! instructions (`docs/benchmarks.md`, "The kit, readable"), and the tests
//! hold it to that propagator's answers.

use http::HeaderValue;
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

/// `{version}-{trace_id}-{span_id}-{flags}` in lowercase hex. Version `00`
/// is exactly 55 bytes; a later version may add fields after another `-`,
/// which are ignored, and `ff` is invalid. All-zero ids are invalid. Of the
/// flags only "sampled" is kept.
pub(crate) fn parse(value: &[u8]) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = value.trim_ascii();
    let (head, rest) = value.split_at_checked(55)?;
    let dashes = [head[2], head[35], head[52]] == [b'-'; 3];
    let [version] = lower_hex::<1>(&head[..2])?;
    let version_allows_rest = match version {
        0 => rest.is_empty(),
        0xff => false,
        _ => rest.is_empty() || rest[0] == b'-',
    };
    if !dashes || !version_allows_rest {
        return None;
    }
    let trace_id = TraceId::from_bytes(lower_hex(&head[3..35])?);
    let span_id = SpanId::from_bytes(lower_hex(&head[36..52])?);
    let [flags] = lower_hex::<1>(&head[53..55])?;
    let valid = trace_id != TraceId::INVALID && span_id != SpanId::INVALID;
    valid.then(|| {
        (
            trace_id,
            span_id,
            TraceFlags::new(flags) & TraceFlags::SAMPLED,
        )
    })
}

/// Exactly `2 * N` lowercase hex digits.
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

/// Lowercase hex of `bytes`, into `out` (twice as long).
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
}

/// A trace id in lowercase hex, as a page shows it and `traceparent` carries
/// it.
pub(crate) fn trace_id_hex(trace_id: TraceId) -> String {
    let mut hex = [0; 32];
    write_hex(&trace_id.to_bytes(), &mut hex);
    hex.iter().map(|&digit| char::from(digit)).collect()
}

/// `00-{trace_id}-{span_id}-{flags}` for a valid span context: the value of
/// `traceparent` and of `traceresponse`. Of the flags only "sampled" is
/// written, as the SDK's propagator does.
pub(crate) fn format(span_context: &SpanContext) -> Option<HeaderValue> {
    if !span_context.is_valid() {
        return None;
    }
    let flags = span_context.trace_flags() & TraceFlags::SAMPLED;
    let mut value = [b'-'; 55];
    value[..2].copy_from_slice(b"00");
    write_hex(&span_context.trace_id().to_bytes(), &mut value[3..35]);
    write_hex(&span_context.span_id().to_bytes(), &mut value[36..52]);
    write_hex(&[flags.to_u8()], &mut value[53..55]);
    HeaderValue::from_bytes(&value).ok()
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::{TraceContextExt as _, TraceState};
    use opentelemetry_http::{HeaderExtractor, HeaderInjector};
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    /// Valid and invalid values, at every edge of the format.
    fn traceparents() -> Vec<String> {
        vec![
            format!("00-{TRACE}-{SPAN}-01"),
            format!("00-{TRACE}-{SPAN}-00"),
            // Level 2's random-id flag beside "sampled".
            format!("00-{TRACE}-{SPAN}-03"),
            format!(" 00-{TRACE}-{SPAN}-01\t"),
            // A later version: its extra fields are ignored.
            format!("cc-{TRACE}-{SPAN}-01"),
            format!("cc-{TRACE}-{SPAN}-01-what-comes-later"),
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

    #[test]
    fn parsing_matches_the_sdk_propagator() {
        let sdk = TraceContextPropagator::new();
        for traceparent in traceparents() {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", traceparent.parse().unwrap());
            let cx = sdk.extract(&HeaderExtractor(&headers));
            let span = cx.span();
            let expected = span.span_context();
            let expected = expected.is_valid().then(|| {
                (
                    expected.trace_id(),
                    expected.span_id(),
                    expected.trace_flags(),
                )
            });
            assert_eq!(parse(traceparent.as_bytes()), expected, "{traceparent:?}");
        }
    }

    #[test]
    fn formatting_matches_the_sdk_propagator() {
        let sdk = TraceContextPropagator::new();
        for (trace, span, flags) in [
            (1, 1, TraceFlags::SAMPLED),
            (u128::MAX, u64::MAX, TraceFlags::default()),
            (
                0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
                0x00f0_67aa_0ba9_02b7,
                TraceFlags::new(3),
            ),
        ] {
            let span_context = SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                flags,
                false,
                TraceState::default(),
            );
            let mut headers = http::HeaderMap::new();
            let cx = Context::new().with_remote_span_context(span_context.clone());
            sdk.inject_context(&cx, &mut HeaderInjector(&mut headers));
            assert_eq!(format(&span_context).as_ref(), headers.get("traceparent"));
        }
        assert_eq!(format(&SpanContext::empty_context()), None);
    }

    #[test]
    fn a_trace_id_is_written_as_its_display_writes_it() {
        for id in [1, u128::MAX, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736] {
            let trace_id = TraceId::from(id);
            assert_eq!(trace_id_hex(trace_id), trace_id.to_string());
        }
    }
}
