//! Benchmark fixtures, driven by `bench/run.py`: the bare baseline services
//! (the same Recommend logic and page, with no telemetry layers at all, to
//! measure what the layers cost) and a counting OTLP sink (a live receiver
//! for the services' export). Not part of the product.
