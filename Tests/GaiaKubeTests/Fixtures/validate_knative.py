"""Validates rendered Knative Services against the Service CRD's openAPIV3Schema.

    python3 validate_knative.py CRD.yaml SERVICE.json...

Stricter than the API server: an object schema that lists its properties and does not preserve
unknown fields rejects any other key (the server would silently prune it, so a typo would be lost).
Exit 0: all valid; 1: some invalid (each error printed); 2: jsonschema or PyYAML missing.
"""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as error:
    print(f"validate_knative.py needs jsonschema and PyYAML (pip install jsonschema pyyaml): {error}")
    sys.exit(2)


def strict(schema):
    if isinstance(schema, dict):
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


crd = yaml.safe_load(open(sys.argv[1]))
version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
schema = strict(version["schema"]["openAPIV3Schema"])
validator = jsonschema.Draft7Validator(schema)
failed = 0
for path in sys.argv[2:]:
    document = json.load(open(path))
    if document.get("kind") != crd["spec"]["names"]["kind"] or document.get("apiVersion") != f"{crd['spec']['group']}/v1":
        print(f"{path}: not a {crd['spec']['group']}/v1 {crd['spec']['names']['kind']}")
        failed += 1
        continue
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        print(f"{path}: {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
    failed += bool(errors)
print(f"{len(sys.argv) - 2 - failed} of {len(sys.argv) - 2} valid")
sys.exit(1 if failed else 0)
