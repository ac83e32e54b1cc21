#!/usr/bin/env python3
"""Write a CycloneDX 1.6 SBOM with N components for the matching benchmark.

Names come from the advisory data itself (every package that has advisories), so the
matcher does real work for every component: each name is looked up, its advisories are
evaluated, and old versions make many of them match. Usage:
    sbom10k.py SHARED_DATA_DIR OUT.json [N]
"""
import io, json, subprocess, sys, tarfile

data, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000

def members(archive):
    raw = subprocess.run(["zstd", "-dc", f"{data}/{archive}"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        for m in t:
            if m.isfile():
                yield m.name, t.extractfile(m).read()

names = {"pypi": set(), "golang": set(), "cargo": set(), "npm": set(), "gem": set()}
for path, _ in members("osv/pypi-pypa-advisory-database.tar.zst"):
    parts = path.split("/")
    if len(parts) > 3 and parts[-3] == "vulns":
        names["pypi"].add(parts[-2])
for path, body in members("osv/go-vulndb.tar.zst"):
    if "/data/osv/" in path and path.endswith(".json"):
        for a in json.loads(body).get("affected", []):
            names["golang"].add(a["package"]["name"])
for path, body in members("osv/rustsec-osv.tar.zst"):
    if path.endswith(".json"):
        for a in json.loads(body).get("affected", []):
            names["cargo"].add(a["package"]["name"])
for path, body in members("native/nodejs-security-wg-vuln.tar.zst"):
    if "/vuln/npm/" in path and path.endswith(".json") and not path.endswith("index.json"):
        names["npm"].add(json.loads(body)["module_name"])
for path, _ in members("native/rubysec-ruby-advisory-db.tar.zst"):
    parts = path.split("/")
    if len(parts) > 3 and parts[-3] == "gems":
        names["gem"].add(parts[-2])

versions = {
    "pypi": ["0.1", "1.0", "2.0.1"],
    "golang": ["v0.0.1", "v0.5.0", "v1.0.0"],
    "cargo": ["0.1.0", "0.5.0", "1.0.0"],
    "npm": ["0.1.0", "1.0.0", "2.0.0"],
    "gem": ["0.1", "1.0.0", "2.0.0"],
}
components = []
pool = [(eco, name) for eco in sorted(names) for name in sorted(names[eco])]
i = 0
while len(components) < n:
    eco, name = pool[i % len(pool)]
    version = versions[eco][(i // len(pool)) % len(versions[eco])]
    purl_name = name.replace("@", "%40")
    components.append({
        "type": "library", "bom-ref": f"c{i}", "name": name, "version": version,
        "purl": f"pkg:{eco}/{purl_name}@{version}",
    })
    i += 1
doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
       "metadata": {"component": {"type": "application", "name": "sbom10k"}},
       "components": components}
with open(out, "w") as f:
    json.dump(doc, f)
print(f"{out}: {len(components)} components from {len(pool)} names", file=sys.stderr)
