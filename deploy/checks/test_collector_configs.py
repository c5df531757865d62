"""Checks of every collector config (compose, and the Kubernetes agent and
sampler tiers) that no collector is here to make: no collector binary runs on
the machines that test this project, so these are the only guard between a
config edit and a collector that refuses to start, or starts and quietly
keeps the wrong traces.

Each test fails when:
- a key is not one the pinned collector (contrib 0.128.0) accepts
  (collector_keys.py says where each list comes from);
- a pipeline names an undefined component, or a component is defined and
  never used, or a connector is fed but never read (or the reverse);
- memory_limiter is not the first processor of a pipeline, or its limit does
  not fit the container's;
- spanmetrics or servicegraph sees spans after a sampling decision, so the
  rates they derive read low;
- the services sample at the head, so not every span reaches the collector;
- the error, latency or forced policy is missing, the baseline is missing, or
  the latency threshold is not the SLO rules' threshold;
- decision_wait does not cover the services' export delay with margin, or
  num_traces cannot hold decision_wait's worth of traces;
- compose and Kubernetes keep different traces (their policies, decision
  wait or derived-metric settings drift apart);
- a `${env:NAME}` the config needs is not set where it runs."""

import re

import pytest
import yaml

from collector_keys import config_problems
from conftest import COLLECTOR_CONFIGS, ROOT
from test_cross_files import APP_SERVICES, _pod_env, compose_env

# Processors that drop spans by a sampling decision.
SAMPLING_PROCESSORS = {"tail_sampling", "probabilistic_sampler"}
# Connectors whose metrics must count every span.
TRACE_METRIC_CONNECTORS = {"spanmetrics", "servicegraph"}
# The export delay assumed for a service that does not set
# OTEL_BSP_SCHEDULE_DELAY, in ms: the OpenTelemetry SDK's default (the
# specification's and opentelemetry_sdk 0.33's OTEL_BSP_SCHEDULE_DELAY_DEFAULT).
# The kit's services send every second unless it is set
# (crates/telemetry/src/export.rs); the check keeps the SDK's longer delay,
# which a service built on another SDK would have.
SDK_DEFAULT_BSP_DELAY_MS = 5000
# The longest a page's trace takes from its first span's start to its root's
# end: the marketplace gives its one upstream call a 400 ms deadline
# (RECOMMENDATIONS_DEADLINE), retries included, and renders in well under a
# millisecond. A second bounds it with room to spare.
SLOWEST_TRACE_SECONDS = 1.0
# What decision_wait must leave on top of export delay, batching and the
# slowest trace: network, queueing, a GC pause.
DECISION_MARGIN_SECONDS = 2.0

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text):
    parts = _DURATION.findall(str(text))
    assert parts and "".join(n + u for n, u in parts) == str(text), f"not a duration: {text!r}"
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def kind(component_id):
    return component_id.split("/", 1)[0]


def pipelines(config):
    return config["service"]["pipelines"]


def upstream_pipelines(config, name):
    """`name` and every pipeline that feeds it through connectors."""
    connectors = set(config.get("connectors") or {})
    seen, frontier = set(), [name]
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for receiver in pipelines(config)[current].get("receivers", []):
            if receiver in connectors:
                frontier.extend(p for p, spec in pipelines(config).items() if receiver in spec.get("exporters", []))
    return seen


def tail_sampling(config):
    """The tail_sampling processor config (there must be exactly one)."""
    found = [body for cid, body in (config.get("processors") or {}).items() if kind(cid) == "tail_sampling"]
    assert len(found) == 1, f"expected one tail_sampling processor, found {len(found)}"
    return found[0]


def sampling_runs(runs):
    """The configs that make the sampling decision: compose and the sampler."""
    return {name: run for name, run in runs.items() if name != "k8s-agent"}


def env_references(value):
    """(name, default or None) for every ${env:NAME[:-default]} in a config."""
    if isinstance(value, dict):
        return [r for v in value.values() for r in env_references(v)]
    if isinstance(value, list):
        return [r for v in value for r in env_references(v)]
    if isinstance(value, str):
        return [(m.group(1), m.group(3)) for m in re.finditer(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", value)]
    return []


def resolve(value, env):
    """A config value as the collector would read it with `env` set."""
    def one(match):
        name, default = match.group(1), match.group(3)
        if name in env and env[name] is not None:
            return env[name]
        assert default is not None, f"${{env:{name}}} is not set and has no default"
        return default
    return re.sub(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", one, str(value))


@pytest.fixture(params=COLLECTOR_CONFIGS)
def run(request, collector_runs):
    return collector_runs[request.param]


# ---------------------------------------------------------------- structure


def test_every_key_is_one_the_pinned_collector_accepts(run):
    assert not config_problems(run.config), (
        f"{run.name}: keys contrib 0.128.0 would refuse (see deploy/checks/collector_keys.py): "
        f"{config_problems(run.config)}"
    )


def test_pipelines_name_only_defined_components(run):
    config = run.config
    connectors = set(config.get("connectors") or {})
    assert pipelines(config), f"{run.name}: no pipelines"
    for name, spec in pipelines(config).items():
        for role, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            defined = set(config.get(section) or {})
            if role != "processors":
                defined |= connectors  # A connector exports from one pipeline and receives in another.
            for component in spec.get(role, []):
                assert component in defined, f"{run.name}: pipeline {name} names {role[:-1]} {component}, which is not defined"
    for extension in config["service"].get("extensions", []):
        assert extension in (config.get("extensions") or {}), f"{run.name}: extension {extension} is not defined"


def test_every_defined_component_is_used(run):
    config = run.config
    used = {c for spec in pipelines(config).values() for role in ("receivers", "processors", "exporters")
            for c in spec.get(role, [])}
    for section in ("receivers", "processors", "exporters", "connectors"):
        for component in config.get(section) or {}:
            assert component in used, f"{run.name}: {section[:-1]} {component} is defined but no pipeline uses it"
    for extension in config.get("extensions") or {}:
        assert extension in config["service"].get("extensions", []), f"{run.name}: extension {extension} is not enabled"


def test_connectors_are_fed_and_read(run):
    specs = pipelines(run.config).values()
    for connector in run.config.get("connectors") or {}:
        assert any(connector in p.get("exporters", []) for p in specs), f"{run.name}: {connector} is never fed"
        assert any(connector in p.get("receivers", []) for p in specs), f"{run.name}: {connector}'s output is never used"


def test_memory_limiter_runs_first_in_every_pipeline(run):
    for name, spec in pipelines(run.config).items():
        processors = spec.get("processors", [])
        assert processors and kind(processors[0]) == "memory_limiter", (
            f"{run.name}: pipeline {name} must start with memory_limiter, so the collector refuses data "
            f"before it runs out of memory; it starts with {processors[:1]}"
        )


def test_memory_limiter_fits_the_container(run):
    for cid, body in (run.config.get("processors") or {}).items():
        if kind(cid) != "memory_limiter":
            continue
        limit = body["limit_mib"]
        assert body["spike_limit_mib"] < limit, f"{run.name}: spike_limit_mib must be below limit_mib"
        assert limit <= 0.85 * run.memory_limit_mib, (
            f"{run.name}: memory_limiter limit_mib {limit} leaves too little of the container's "
            f"{run.memory_limit_mib:.0f} MiB for the Go runtime"
        )
        if "GOMEMLIMIT" in run.env:
            assert run.env["GOMEMLIMIT"] == f"{limit}MiB", f"{run.name}: GOMEMLIMIT should match limit_mib"


def test_every_env_reference_is_set_where_the_collector_runs(run):
    for name, default in env_references(run.config):
        assert default is not None or name in run.env, (
            f"{run.name}: the config reads ${{env:{name}}}, which has no default and is not set for the container"
        )


# ---------------------------------------------------------------- sampling


def test_trace_metrics_count_every_span(run):
    """spanmetrics and servicegraph must see spans before any sampling
    decision, in their own pipeline or any that feeds it."""
    config = run.config
    found = False
    for name, spec in pipelines(config).items():
        if not any(kind(e) in TRACE_METRIC_CONNECTORS for e in spec.get("exporters", [])):
            continue
        found = True
        for upstream in upstream_pipelines(config, name):
            sampling = [p for p in pipelines(config)[upstream].get("processors", []) if kind(p) in SAMPLING_PROCESSORS]
            assert not sampling, (
                f"{run.name}: pipeline {name} feeds span-derived metrics after {sampling} in {upstream}; "
                "they would count only the kept traces"
            )
    derives = {kind(c) for c in config.get("connectors") or {}} & TRACE_METRIC_CONNECTORS
    assert found or not derives


def test_services_export_every_span(compose, k8s_objects):
    """Head sampling in a service would hide spans from the collector: both
    the trace-derived metrics and the tail sampler would see a fraction."""
    for name in APP_SERVICES:
        env = compose_env(compose["services"][name])
        assert env.get("OTEL_TRACES_SAMPLER") == "parentbased_always_on", f"compose {name}: {env.get('OTEL_TRACES_SAMPLER')}"
        assert "OTEL_TRACES_SAMPLER_ARG" not in env, f"compose {name}: OTEL_TRACES_SAMPLER_ARG is left over"
    checked = 0
    for deployment in (o for o in k8s_objects if o["kind"] == "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            env = _pod_env(k8s_objects, container)
            if "OTEL_EXPORTER_OTLP_ENDPOINT" not in env:
                continue
            checked += 1
            where = f"k8s {deployment['metadata']['name']}"
            assert env.get("OTEL_TRACES_SAMPLER") == "parentbased_always_on", f"{where}: {env.get('OTEL_TRACES_SAMPLER')}"
            assert "OTEL_TRACES_SAMPLER_ARG" not in env, f"{where}: OTEL_TRACES_SAMPLER_ARG is left over"
    assert checked >= len(APP_SERVICES)


def _policies(config):
    return {p["name"]: p for p in tail_sampling(config)["policies"]}


def _slo_latency_threshold_ms():
    """The le bucket every latency SLI rule in slo.yml counts as fast, in ms."""
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/slo.yml").read_text())
    thresholds = {
        float(le)
        for group in rules["groups"]
        for rule in group["rules"]
        if "slo_latency" in rule.get("record", "")
        for le in re.findall(r'le="([^"]+)"', rule["expr"])
    }
    assert len(thresholds) == 1, f"the latency SLI rules disagree on their threshold: {thresholds}"
    return thresholds.pop() * 1000


@pytest.mark.parametrize("name", ["compose", "k8s-sampler"])
def test_sampling_keeps_errors_slow_and_forced_traces(collector_runs, name):
    run = collector_runs[name]
    policies = list(_policies(run.config).values())

    def of_type(policy_type):
        return [p for p in policies if p["type"] == policy_type]

    assert any("ERROR" in p["status_code"]["status_codes"] for p in of_type("status_code")), (
        f"{name}: no status_code policy keeps traces with an ERROR span"
    )
    assert of_type("latency"), f"{name}: no latency policy keeps slow traces"
    forced = [p["numeric_attribute"] for p in of_type("numeric_attribute")
              if p["numeric_attribute"]["key"] == "sampling.priority"]
    assert forced, f"{name}: no numeric_attribute policy on sampling.priority (how a request forces its trace)"
    for policy in forced:
        # An unset max_value reads 0 in 0.128's factory, and [1, 0] matches nothing.
        assert policy["min_value"] == 1 and policy.get("max_value", 0) >= policy["min_value"], (
            f"{name}: sampling.priority policy must match 1 and up: {policy}"
        )
    assert of_type("probabilistic"), f"{name}: no probabilistic baseline"
    unsupported = [p["name"] for p in policies if p["type"] in ("and", "composite", "drop")]
    assert not unsupported, f"{name}: nested policies this check does not read: {unsupported}"


@pytest.mark.parametrize("name", ["compose", "k8s-sampler"])
def test_latency_threshold_is_the_slo_threshold(collector_runs, name):
    slo_ms = _slo_latency_threshold_ms()
    for policy in _policies(collector_runs[name].config).values():
        if policy["type"] == "latency":
            assert policy["latency"]["threshold_ms"] == slo_ms, (
                f"{name}: latency policy {policy['name']} keeps traces from {policy['latency']['threshold_ms']} ms, "
                f"but the SLO rules (deploy/prometheus/rules/slo.yml) call a request slow from {slo_ms:g} ms"
            )


def _services_bsp_delay_seconds(compose, k8s_objects, where):
    """The longest OTEL_BSP_SCHEDULE_DELAY of the services exporting to the
    collector in `where`, or the SDK default where it is unset."""
    if where == "compose":
        envs = [compose_env(s) for s in compose["services"].values()
                if "OTEL_EXPORTER_OTLP_ENDPOINT" in compose_env(s)]
    else:
        envs = [_pod_env(k8s_objects, c) for d in k8s_objects if d["kind"] == "Deployment"
                for c in d["spec"]["template"]["spec"]["containers"]]
        envs = [e for e in envs if "OTEL_EXPORTER_OTLP_ENDPOINT" in e]
    assert envs, f"no service exports to the collector in {where}"
    return max(float(e.get("OTEL_BSP_SCHEDULE_DELAY", SDK_DEFAULT_BSP_DELAY_MS)) for e in envs) / 1000


def _batch_timeouts_before(config, pipeline):
    """Seconds spans can wait in batch processors on the way to `pipeline`'s
    tail_sampling: the batches in every pipeline feeding it."""
    total = 0.0
    for upstream in upstream_pipelines(config, pipeline) - {pipeline}:
        for processor in pipelines(config)[upstream].get("processors", []):
            if kind(processor) == "batch":
                total += seconds(config["processors"][processor].get("timeout", "200ms"))
    return total


def _sampling_pipeline(config):
    return next(name for name, spec in pipelines(config).items()
                if any(kind(p) == "tail_sampling" for p in spec.get("processors", [])))


@pytest.mark.parametrize("name", ["compose", "k8s-sampler"])
def test_decision_wait_covers_the_services_export_delay(collector_runs, compose, k8s_objects, name):
    config = collector_runs[name].config
    wait = seconds(tail_sampling(config)["decision_wait"])
    bsp = _services_bsp_delay_seconds(compose, k8s_objects, "compose" if name == "compose" else "k8s")
    batching = _batch_timeouts_before(config, _sampling_pipeline(config))
    if name == "k8s-sampler":
        # The agent tier batches before routing to the samplers.
        agent = collector_runs["k8s-agent"].config
        batching += max(seconds(body.get("timeout", "200ms"))
                        for cid, body in agent["processors"].items() if kind(cid) == "batch")
    needed = bsp + batching + SLOWEST_TRACE_SECONDS + DECISION_MARGIN_SECONDS
    assert wait >= needed, (
        f"{name}: decision_wait {wait:g}s is too short. A trace's last span can reach the sampler "
        f"{bsp:g}s (services' OTEL_BSP_SCHEDULE_DELAY) + {batching:g}s (batching) + {SLOWEST_TRACE_SECONDS:g}s "
        f"(slowest trace) after its first, and a margin of {DECISION_MARGIN_SECONDS:g}s is asked: {needed:g}s"
    )


@pytest.mark.parametrize("name", ["compose", "k8s-sampler"])
def test_num_traces_holds_a_decision_wait_of_traces(collector_runs, name):
    processor = tail_sampling(collector_runs[name].config)
    held = processor["expected_new_traces_per_sec"] * seconds(processor["decision_wait"])
    assert processor["num_traces"] >= 2 * held, (
        f"{name}: num_traces {processor['num_traces']} < 2 x {processor['expected_new_traces_per_sec']}/s x "
        f"decision_wait; traces would be decided before their wait is over (docs/capacity.md)"
    )
    cache = processor.get("decision_cache") or {}
    for key in ("sampled_cache_size", "non_sampled_cache_size"):
        assert cache.get(key, 0) >= processor["num_traces"], (
            f"{name}: decision_cache.{key} below num_traces: late spans would start partial traces"
        )


def test_compose_and_kubernetes_keep_the_same_traces(collector_runs):
    """One policy set, two places: a change to one must be made to both."""
    compose, sampler, agent = (collector_runs[n].config for n in ("compose", "k8s-sampler", "k8s-agent"))

    def sampling(config):
        processor = tail_sampling(config)
        return {"decision_wait": processor["decision_wait"], "policies": processor["policies"]}

    assert sampling(compose) == sampling(sampler), (
        "compose (deploy/otel-collector/config.yaml) and the Kubernetes sampler "
        "(deploy/k8s/base/otel-collector/sampler.yaml) keep different traces:\n"
        f"compose: {sampling(compose)}\nkubernetes: {sampling(sampler)}"
    )

    def connector(config, connector_kind):
        found = [body for cid, body in (config.get("connectors") or {}).items() if kind(cid) == connector_kind]
        assert len(found) == 1, f"expected one {connector_kind} connector"
        return found[0]

    assert connector(compose, "spanmetrics") == connector(agent, "spanmetrics"), "span metrics differ between compose and the agent tier"
    def servicegraph(config):
        # The store's size follows each place's traffic; everything else,
        # the pairing wait (store.ttl) included, must agree.
        body = connector(config, "servicegraph")
        return dict(body, store={"ttl": body["store"]["ttl"]})

    assert servicegraph(compose) == servicegraph(sampler), "the service graph differs between compose and the sampler tier"


def test_the_baseline_is_one_value_per_environment(collector_runs):
    """The baseline share is TRACE_BASELINE_PERCENT: 100 in compose, so every
    page's trace is kept while developing; a fraction in Kubernetes."""
    shares = {}
    for name in ("compose", "k8s-sampler"):
        run = collector_runs[name]
        baseline = [p for p in _policies(run.config).values() if p["type"] == "probabilistic"]
        assert len(baseline) == 1, f"{name}: expected one probabilistic baseline"
        raw = baseline[0]["probabilistic"]["sampling_percentage"]
        assert env_references(raw) and env_references(raw)[0][0] == "TRACE_BASELINE_PERCENT", (
            f"{name}: the baseline should be set by TRACE_BASELINE_PERCENT, not written in: {raw!r}"
        )
        shares[name] = float(resolve(raw, run.env))
    assert shares["compose"] == 100, f"compose keeps {shares['compose']} % at baseline: footer links would open missing traces"
    assert 0 < shares["k8s-sampler"] < 100, f"Kubernetes keeps {shares['k8s-sampler']} % at baseline"
