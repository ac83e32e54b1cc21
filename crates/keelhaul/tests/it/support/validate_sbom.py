"""Validate an SBOM against the official schemas.

Usage: validate_sbom.py cyclonedx|spdx FILE
- CycloneDX 1.6: the strict JSON schema bundled with cyclonedx-python-lib (the CycloneDX
  project's own library and schema copy).
- SPDX 2.3: the official SPDX 2.3 JSON schema (as bundled by lib4sbom, identical to
  spdx-spec's schemas/spdx-schema-2-3.json), then spdx-tools' full document validation
  (the SPDX project's own validator: SPDX ids, relationships, purls, dates).
Prints every problem and exits 1 if there is any.
"""
import importlib.resources
import json
import sys

kind, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
problems = []
if kind == "cyclonedx":
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    problems.extend(str(e) for e in (errors or []))
elif kind == "spdx":
    import jsonschema

    schema = json.loads(importlib.resources.files("lib4sbom").joinpath("schemas/spdx/2.3-schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    problems.extend(f"schema: {e.json_path}: {e.message}" for e in validator.iter_errors(json.loads(text)))
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    doc = parse_file(path)
    problems.extend(f"spdx-tools: {m.validation_message}" for m in validate_full_spdx_document(doc, "SPDX-2.3"))
else:
    sys.exit(f"unknown kind {kind}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
