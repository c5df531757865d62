#!/usr/bin/env python3
"""Splits the cost of a recorded span into its parts, from the callgrind
profiles that `KEEP=dir bash bench/instructions.sh` keeps.

    python3 bench/span_profile.py DIR [--spans-per-call N] [--spans-per-page N]

For each load (the Recommend call, and the page with both services), it
takes the always-on profiles and the sampler-0 profiles, and prints per
recorded span:

- the whole cost: (always-on - sampler 0) / requests / spans per request;
- parts read from inclusive costs of the functions that do each job in the
  always-on profile (callgrind_annotate --inclusive=yes), per span:
  span creation and attributes (the layers' `CallTracer::start`, attribute
  and status setters, and span end up to the hand-off), the `tracing`
  bridge (tracing-opentelemetry's layer hooks), the batch processor's
  hand-off (`Span::ensure_ended_and_exported`: building `SpanData` and
  `on_end`) and its thread (`get_spans_and_export` around the exporter),
  conversion to OTLP types (opentelemetry-proto's `group_spans_by_resource_
  and_scope` and dropping its structs), protobuf encoding (prost's encoding
  of the request, or `otlp::encode_export_request`), and the gRPC send (the
  exporter's `export` around the two);
- "the rest": the whole minus the parts (the gRPC connection's own task,
  the export's share of allocator and runtime work, and what the parts'
  function boundaries miss).

Inclusive costs of the named functions do not nest in one another, except
where the script subtracts (noted beside each part). Requests per profile
come from the file names' load (2000 pages by default, 10000 calls).
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

# Part name -> (functions added, functions subtracted), matched as
# substrings of callgrind_annotate's function names.
SDK_SPAN = [
    "<opentelemetry_sdk::trace::tracer::SdkTracer as opentelemetry::trace::tracer::Tracer>::build_with_context",
    "<opentelemetry::trace::context::SynchronizedSpan as core::convert::From<T>>::from",
    "opentelemetry::trace::span::Span::set_attributes",
    "opentelemetry::trace::context::SpanRef::set_attribute ",
    "opentelemetry::trace::context::SpanRef::set_status",
    "opentelemetry::trace::context::SpanRef::update_name",
    "opentelemetry::trace::context::SpanRef::end_with_timestamp",
]
HAND_OFF = ["opentelemetry_sdk::trace::span::Span::ensure_ended_and_exported"]
# The batch thread runs each export to completion with `block_on`; where the
# compiler inlined that, the upstream exporter's `export` is what is left.
EXPORT = [
    "futures_executor::local_pool::block_on",
    "<opentelemetry_otlp::exporter::tonic::trace::TonicTracesClient as opentelemetry_sdk::trace::export::SpanExporter>::export",
]
CONVERSION = [
    "opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope",
    "core::ptr::drop_in_place<opentelemetry_proto::proto::tonic::trace::v1::ResourceSpans>",
]
ENCODING_UPSTREAM = [
    # tonic encodes the request on the runtime, outside `export`.
    "<opentelemetry_proto::proto::tonic::trace::v1::ResourceSpans as prost::message::Message>::encode_raw",
    "<opentelemetry_proto::proto::tonic::trace::v1::ResourceSpans as prost::message::Message>::encoded_len",
]
ENCODING_OURS = ["otlp::encode::encode_export_request"]

PARTS = {
    # The SDK's span: start (the sampler included), attributes, status,
    # name, its place in the context, and its end up to the hand-off. What
    # the layers do to build names and attributes is in "the rest".
    "span creation and attributes (the SDK's span)": (SDK_SPAN, HAND_OFF),
    "the `tracing` bridge (handler spans)": (
        [
            "OpenTelemetryLayer<S,T> as tracing_subscriber::layer::Layer<S>>::on_new_span",
            "OpenTelemetryLayer<S,T> as tracing_subscriber::layer::Layer<S>>::on_enter",
            "OpenTelemetryLayer<S,T> as tracing_subscriber::layer::Layer<S>>::on_exit",
            "OpenTelemetryLayer<S,T> as tracing_subscriber::layer::Layer<S>>::on_close",
            "OpenTelemetryLayer<S,T> as tracing_subscriber::layer::Layer<S>>::on_record",
        ],
        [],
    ),
    # Building the `SpanData` and queueing it.
    "batch processor: hand-off": (HAND_OFF, []),
    "batch processor: its thread (around the exporter)": (
        ["BatchSpanProcessor::get_spans_and_export"],
        EXPORT,
    ),
    "conversion to OTLP types (and dropping them)": (CONVERSION, []),
    "protobuf encoding": (ENCODING_UPSTREAM + ENCODING_OURS, []),
    # The upstream exporter converts inside `export`; tonic encodes, sends
    # and drops the request on the runtime. Ours encodes inside `export`.
    "the gRPC send (the exporter, less the two above)": (EXPORT, CONVERSION[:1] + ENCODING_OURS),
}


def inclusive(profile):
    """Function name -> inclusive instructions, and the program total."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
        capture_output=True, text=True, check=True,
    ).stdout
    costs, total = {}, 0
    for line in out.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(.*) \[", line)
        if match:
            name = match.group(2)
            # A recursive cycle's entries ('2) repeat their callers' costs.
            if not re.search(r"'\d+$", name):
                costs[name] = costs.get(name, 0) + int(match.group(1).replace(",", ""))
    return costs, total


def summed(costs, patterns):
    return sum(cost for name, cost in costs.items() for p in patterns if p in name)


def profiles(directory, load, sampler):
    return sorted(Path(directory).glob(f"{load}-telemetry-{sampler}-*.out"))


def table(directory, load, requests, spans):
    recorded = [inclusive(p) for p in profiles(directory, load, "1")]
    unrecorded = [inclusive(p) for p in profiles(directory, load, "0")]
    if not recorded or not unrecorded:
        sys.exit(f"{directory}: no {load} profiles for samplers 1 and 0")
    per_span = lambda instructions: instructions / requests / spans
    whole = per_span(sum(t for _, t in recorded) - sum(t for _, t in unrecorded))
    rows, accounted = [], 0.0
    for part, (added, subtracted) in PARTS.items():
        cost = per_span(sum(summed(c, added) - summed(c, subtracted) for c, _ in recorded))
        accounted += cost
        rows.append((part, cost))
    rows.append(("the rest", whole - accounted))
    lines = [f"| Part | Instructions per recorded span |", "|---|---|"]
    lines += [f"| {part} | {cost:,.0f} |" for part, cost in rows]
    lines.append(f"| **a recorded span, in all** | **{whole:,.0f}** |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--spans-per-call", type=int, default=1)
    parser.add_argument("--spans-per-page", type=int, default=3)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    print(f"Per Recommend call ({args.spans_per_call} span(s) a call):\n")
    print(table(args.directory, "recommend_load", args.pages * 5, args.spans_per_call))
    print(f"\nPer page, both services ({args.spans_per_page} spans a page):\n")
    print(table(args.directory, "page_load", args.pages, args.spans_per_page))


if __name__ == "__main__":
    main()
