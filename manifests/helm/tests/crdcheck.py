#!/usr/bin/env python3
"""Validates the custom-resource objects of a rendered file that kubernetes-validate has no schema for.

    crdcheck.py RENDERED.yaml SCHEMA_DIR KIND[@APIVERSION] ...

Each named kind must have a strict JSON schema in SCHEMA_DIR named `<kind>-<group>-<version>.json` (lower case,
`/` → `-`); an object of a named kind with no such schema, or one that does not validate, is a failure.
"""

import sys
from pathlib import Path

import jsonschema
import yaml
import json


def main() -> int:
    rendered, schema_dir, kinds = sys.argv[1], Path(sys.argv[2]), set(sys.argv[3:])
    failures, checked = [], 0
    for obj in yaml.safe_load_all(Path(rendered).read_text()):
        if not obj or obj.get("kind") not in kinds:
            continue
        name = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
        schema_file = schema_dir / f"{obj['kind'].lower()}-{obj['apiVersion'].replace('/', '-')}.json"
        if not schema_file.is_file():
            failures.append(f"FAIL {name} ({obj['apiVersion']}): no schema, neither in kubernetes-validate nor {schema_file}")
            continue
        errors = sorted(jsonschema.Draft7Validator(json.loads(schema_file.read_text())).iter_errors(obj), key=str)
        for e in errors:
            failures.append(f"FAIL {name}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        checked += 1
    for f in failures:
        print(f)
    print(f"crdcheck {rendered}: {checked} custom resource(s) validated, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
