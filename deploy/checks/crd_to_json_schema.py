"""Converts a CustomResourceDefinition's OpenAPI v3 schema into a strict JSON
Schema, the way kubeconform's openapi2jsonschema does, so that custom
resources are checked as strictly as `kubernetes-validate --strict` checks
built-in ones: unknown fields are errors (additionalProperties: false where
the CRD does not allow them), int-or-string and nullable become JSON Schema,
and apiVersion and kind must match. Descriptions are dropped: they are
documentation, and most of the size.

Used to make the vendored schemas in deploy/checks/schemas/ (see the README
there for the source and version):

    python3 deploy/checks/crd_to_json_schema.py OUT_DIR CRD.yaml...

It writes OUT_DIR/<kind>-<group>-<version>.json per served version."""

import json
import sys
from pathlib import Path

import yaml


def strict(node):
    """The JSON Schema for one OpenAPI v3 schema node."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" or key.startswith("x-kubernetes-") or key == "nullable":
            continue
        out[key] = strict(value) if key != "enum" else value
    if node.get("x-kubernetes-int-or-string"):
        for key in ("type", "format"):
            out.pop(key, None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (
        node.get("type") == "object"
        and "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def main(out_dir, crd_files):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for crd_file in crd_files:
        for crd in yaml.safe_load_all(Path(crd_file).read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = strict(version["schema"]["openAPIV3Schema"])
                schema["properties"]["apiVersion"] = {"enum": [f"{group}/{version['name']}"]}
                schema["properties"]["kind"] = {"enum": [kind]}
                schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
                schema["$schema"] = "http://json-schema.org/draft-07/schema#"
                name = f"{kind.lower()}-{group.split('.')[0]}-{version['name']}.json"
                (out_dir / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"wrote {out_dir / name}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
