"""Validates the custom resources in a rendered Kustomize output against the
vendored CRD schemas in deploy/checks/schemas/, and writes every other object
to a second file for `kubernetes-validate --strict`, which knows only
Kubernetes' own kinds. An object of a vendored API group whose kind has no
vendored schema is an error: nothing is left unchecked.

    python3 deploy/checks/validate_custom_resources.py RENDERED BUILTIN_OUT"""

import json
import sys
from pathlib import Path

import jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def load_schemas():
    """{(apiVersion, kind): (validator, source directory)} of every vendored schema."""
    schemas = {}
    for path in sorted(SCHEMAS.glob("*/*.json")):
        schema = json.loads(path.read_text())
        key = (schema["properties"]["apiVersion"]["enum"][0], schema["properties"]["kind"]["enum"][0])
        schemas[key] = (jsonschema.Draft7Validator(schema), path.parent.name)
    return schemas


def main(rendered, builtin_out):
    schemas = load_schemas()
    groups = {api_version.split("/")[0] for api_version, _ in schemas}
    builtin, errors, checked = [], [], {}
    for doc in yaml.safe_load_all(Path(rendered).read_text()):
        if not doc:
            continue
        api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        name = f"{kind}/{doc.get('metadata', {}).get('name', '?')}"
        entry = schemas.get((api_version, kind))
        if entry is None:
            if api_version.split("/")[0] in groups:
                errors.append(f"{name}: no vendored schema for {api_version} {kind}")
            else:
                builtin.append(doc)
            continue
        validator, source = entry
        found = [
            f"{name}: {'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(doc)
        ]
        errors.extend(found)
        if not found:
            checked.setdefault(source, []).append(name)
    Path(builtin_out).write_text(yaml.safe_dump_all(builtin, sort_keys=False))
    for source, names in checked.items():
        print(f"{len(names)} custom resources valid against {source} (strict): {', '.join(names)}")
    for error in errors:
        print(f"INVALID {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
