#!/usr/bin/env python3
"""advisory_oracle.py -- an independent reference implementation of advisory matching.

keelhaul's Rust matcher is tested against this script.  It is deliberately
written from the public specifications only and shares no code or logic with
the Rust implementation (crates/keelhaul-vulndb):

  * OSV records are evaluated with the `IsVulnerable` pseudo-code of the OSV
    schema (https://ossf.github.io/osv-schema/#evaluation), transcribed
    literally in `osv_affected_entry_matches()` below.
  * Version ordering is delegated to the ecosystems' reference libraries:
      - PyPI (PEP 440):   the `packaging` library (packaging.version.Version);
      - npm and Go:        node's `semver` npm package (semver@7), run through
                           `node` in ONE batch call per run (see NodeSemver).

Usage
-----
    python3 advisory_oracle.py --data /work/shared/data --packages packages.json [--explain]

packages.json is a JSON list of objects (or an object with such a list under
"packages", e.g. fat_expected.json, which can be regenerated that way)
    {"ecosystem": "pypi" | "npm" | "golang", "name": "...", "version": "..."}
(keelhaul's ecosystem spellings).  Output on stdout is one JSON object

    {"<ecosystem>/<name>@<version>": ["<advisory id>", ... sorted], ...}

with one key per input package (an empty list when nothing matches).
`--explain` additionally writes, to stderr, one line per (package, id) saying
which record / affected entry / range / event interval matched, plus any
warnings about data that could not be evaluated.  stdout is unchanged.

`--go-buildinfo FILE...` is a small helper: it prints the Go toolchain version
recorded in the buildinfo blob of each Go binary and exits (used to derive the
`stdlib` versions of fat_expected.json).

Data sources (paths relative to --data, see its SOURCES.md)
-----------------------------------------------------------
PyPI
  * osv/pypi-pypa-advisory-database.tar.zst   `vulns/**.yaml`   (OSV as YAML)
  * osv/ghsa-sample/*.json                    OSV JSON, ecosystem "PyPI"
  * native/victims-cve-db.tar.zst             `database/python/**.yaml`
npm
  * osv/ghsa-sample/*.json                    OSV JSON, ecosystem "npm"
  * native/nodejs-security-wg-vuln.tar.zst    `vuln/npm/<id>.json`, id NSWG-ECO-<id>
Go
  * osv/go-vulndb.tar.zst                     `data/osv/*.json`, ecosystem "Go"

Matching rules (decisions are spelled out here so a reviewer can check them)
----------------------------------------------------------------------------
Package names
  * PyPI names are compared after PEP 503 normalisation
    (runs of "-", "_", "." become "-", lower case) on both sides.
  * npm and Go names are compared exactly.
  * Go: the toolchain is queried as name "stdlib" with a Go version such as
    "go1.22.5" (-> semver "1.22.5") or "go1.20rc1" (-> "1.20.0-rc.1").  A query
    named "toolchain" is converted the same way and matches the vulndb's
    "toolchain" records; "stdlib" queries match only "stdlib" records.
  * Go module versions: a leading "v" and a "+incompatible" suffix are
    stripped (Go vulndb SEMVER ranges carry neither).

OSV records (pypa, ghsa-sample, go-vulndb)
  * records with a `withdrawn` field are skipped;
  * only `affected[]` entries whose package ecosystem/name match are used;
  * `versions` lists match by version equality in the ecosystem's ordering
    (PEP 440 / semver equality); a string that the ecosystem cannot parse
    matches only the identical string;
  * ranges of type GIT are ignored (we have no commit graph), ECOSYSTEM and
    SEMVER ranges are evaluated with the ecosystem's ordering;
  * per range: `BeforeLimits` first, then the events are sorted by version
    (introduced "0" sorts before everything; a "*" limit after everything;
    ties keep their order in the record) and walked exactly as in the
    pseudo-code (introduced -> vulnerable; fixed/last_affected -> not);
  * a range containing a version string the ecosystem cannot parse is not
    evaluated (reported as a warning under --explain), the other ranges and
    the `versions` list of the entry still count;
  * an affected entry whose only ranges are GIT and that has no `versions`
    list can never match (it is skipped);
  * every `database_specific` / `ecosystem_specific` field (GHSA, RustSec,
    Go `imports` / `custom_ranges`) is ignored.

Node.js security-wg npm records
  * affected iff semver.satisfies(version, vulnerable_versions); when
    `vulnerable_versions` is absent, iff NOT semver.satisfies(version,
    patched_versions).  Default node-semver options (no `loose`, no
    `includePrerelease`), exactly as the node ecosystem evaluates them.
    Files that are not advisory records (vuln/npm/index.json) are skipped.

victims-cve-db Python records (ids are reported as "CVE-<cve field>")
  * The README only says each entry is `^[<>=]=.*$`; the semantics of the
    optional ",<series>" suffix come from the repository's own checker
    (victims-cve-db-cli.py, `is_version_affected`), which we follow:
      - the package is affected iff ANY entry of its `version` list matches;
      - "==V"      matches v == V;
      - "<=V"      matches v <= V;
      - "<=V,S"    matches S <= v <= V   (S is the series' lowest version);
      - ">=..." entries in `version` are ignored, as upstream's checker does
        (they only narrow a "<=" entry of the same list);
      - `fixedin` / `unaffected` are informational and not consulted.
    Versions are compared with PEP 440 (packaging), not LooseVersion.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from packaging.version import InvalidVersion, Version

try:  # YAML is needed for the pypa and victims data (both are YAML files).
    import yaml
except ImportError:  # pragma: no cover - environment problem, not a test failure
    sys.exit("advisory_oracle.py: PyYAML is required to read the pypa/victims YAML data (pip install pyyaml)")

# BaseLoader keeps every scalar a string: an unquoted `fixed: 1.10` must stay
# the version "1.10", never become the float 1.1.
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

ECOSYSTEMS = ("pypi", "npm", "golang")

NODE_SEMVER_DIR = Path(
    os.environ.get("KEELHAUL_ORACLE_NODE_DIR", Path.home() / ".cache" / "keelhaul-test" / "oracle-node")
)


# ============================================================== data reading


def iter_tar_zst(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (path-below-the-top-level-folder, content) for each regular file
    of a .tar.zst archive.  Uses the `zstandard` module when it is installed,
    otherwise streams the output of the `zstd -dc` command line tool."""
    try:
        import zstandard  # type: ignore
    except ImportError:
        zstandard = None

    def members(tf: tarfile.TarFile) -> Iterator[tuple[str, bytes]]:
        for m in tf:  # streaming mode: read each member right away
            if not m.isfile():
                continue
            parts = m.name.lstrip("./").split("/", 1)
            if len(parts) < 2:
                continue
            f = tf.extractfile(m)
            yield parts[1], f.read() if f else b""

    if zstandard is not None:
        with open(path, "rb") as fh:
            reader = zstandard.ZstdDecompressor().stream_reader(fh)
            with tarfile.open(fileobj=reader, mode="r|") as tf:
                yield from members(tf)
        return
    if shutil.which("zstd") is None:
        sys.exit("advisory_oracle.py: need the `zstandard` module or the `zstd` command to read " + str(path))
    proc = subprocess.Popen(["zstd", "-dc", "--", str(path)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tf:
            yield from members(tf)
    finally:
        if proc.stdout:
            proc.stdout.close()
        if proc.wait() != 0:
            sys.exit(f"advisory_oracle.py: zstd failed on {path}")


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def norm_name(eco: str, name: str) -> str:
    return pep503(name) if eco == "pypi" else name


@dataclasses.dataclass
class OsvEntry:
    """One `affected[]` element of an OSV record, for one package."""

    record_id: str
    origin: str  # human readable: which file it came from
    index: int  # position in affected[]
    ranges: list[dict]
    versions: list[str]


@dataclasses.dataclass
class NswgRecord:
    record_id: str
    origin: str
    vulnerable: Optional[str]
    patched: Optional[str]


@dataclasses.dataclass
class VictimsEntry:
    record_id: str
    origin: str
    expressions: list[str]


class AdvisoryDb:
    """All advisory data, indexed by (ecosystem, normalised package name)."""

    def __init__(self) -> None:
        self.osv: dict[tuple[str, str], list[OsvEntry]] = {}
        self.nswg: dict[str, list[NswgRecord]] = {}
        self.victims: dict[str, list[VictimsEntry]] = {}
        self.skipped_withdrawn: list[str] = []

    # ---- OSV
    def add_osv(self, doc: dict, origin: str, ecosystem_map: dict[str, str]) -> None:
        """Index one OSV record.  `ecosystem_map` maps the OSV ecosystem names
        this source is trusted for to keelhaul's spellings."""
        if doc.get("withdrawn"):
            self.skipped_withdrawn.append(doc.get("id", origin))
            return
        for i, aff in enumerate(doc.get("affected") or []):
            pkg = aff.get("package") or {}
            eco = ecosystem_map.get(pkg.get("ecosystem", ""))
            if eco is None:
                continue
            ranges = list(aff.get("ranges") or [])
            versions = [str(v) for v in (aff.get("versions") or [])]
            if not versions and all(r.get("type") == "GIT" for r in ranges):
                continue  # only GIT ranges and no versions: cannot match anything
            key = (eco, norm_name(eco, pkg.get("name", "")))
            self.osv.setdefault(key, []).append(OsvEntry(doc["id"], origin, i, ranges, versions))

    # ---- loading
    @classmethod
    def load(cls, data: Path) -> "AdvisoryDb":
        db = cls()
        # PyPI: pypa advisory database (OSV as YAML)
        for rel, blob in iter_tar_zst(data / "osv" / "pypi-pypa-advisory-database.tar.zst"):
            if rel.startswith("vulns/") and rel.endswith((".yaml", ".yml")):
                db.add_osv(yaml.load(blob, Loader=_YAML_LOADER), "pypa:" + rel, {"PyPI": "pypi"})
        # GitHub advisory sample (OSV JSON): PyPI and npm records only
        for p in sorted((data / "osv" / "ghsa-sample").glob("*.json")):
            db.add_osv(json.loads(p.read_text()), "ghsa-sample:" + p.name, {"PyPI": "pypi", "npm": "npm"})
        # Go vulndb (OSV JSON)
        for rel, blob in iter_tar_zst(data / "osv" / "go-vulndb.tar.zst"):
            if re.fullmatch(r"data/osv/[^/]+\.json", rel):
                db.add_osv(json.loads(blob), "go-vulndb:" + rel, {"Go": "golang"})
        # Node.js security-wg ecosystem advisories
        for rel, blob in iter_tar_zst(data / "native" / "nodejs-security-wg-vuln.tar.zst"):
            m = re.fullmatch(r"vuln/npm/(\d+)\.json", rel)
            if not m:
                continue  # e.g. vuln/npm/index.json, an aggregate, not a record
            doc = json.loads(blob)
            if "module_name" not in doc:
                continue
            db.nswg.setdefault(doc["module_name"], []).append(
                NswgRecord(
                    f"NSWG-ECO-{m.group(1)}",
                    "security-wg:" + rel,
                    doc.get("vulnerable_versions"),
                    doc.get("patched_versions"),
                )
            )
        # victims-cve-db, Python part
        for rel, blob in iter_tar_zst(data / "native" / "victims-cve-db.tar.zst"):
            if not (rel.startswith("database/python/") and rel.endswith((".yaml", ".yml"))):
                continue
            doc = yaml.load(blob, Loader=_YAML_LOADER)
            if not isinstance(doc, dict) or "cve" not in doc:
                continue
            rid = "CVE-" + str(doc["cve"]).strip()
            for aff in doc.get("affected") or []:
                if not isinstance(aff, dict) or "name" not in aff:
                    continue
                db.victims.setdefault(pep503(aff["name"]), []).append(
                    VictimsEntry(rid, "victims:" + rel, [str(e) for e in aff.get("version") or []])
                )
        return db


# ============================================================== versions


class NodeSemver:
    """node-semver, queried in one batch.

    `rank_of(v)` returns an int such that semver.compare order == int order
    (equal versions share a rank), or None when semver.valid(v) is null.
    `satisfies(v, r)` returns semver.satisfies(v, r) (and whether the range is
    valid).  Questions are collected first (`want_*`), then `run()` asks node.
    """

    SCRIPT = r"""
const semver = require(process.argv[1]);
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const q = JSON.parse(input);
  // ranks: sort the distinct valid versions with semver.compare
  const valid = q.versions.filter(v => semver.valid(v) !== null);
  valid.sort(semver.compare);
  const rank = {};
  let r = -1, prev = null;
  for (const v of valid) {
    if (prev === null || semver.compare(prev, v) !== 0) r++;
    rank[v] = r; prev = v;
  }
  const out = {
    rank: q.versions.map(v => (v in rank ? rank[v] : null)),
    satisfies: q.satisfies.map(([v, range]) => ({
      ok: semver.satisfies(v, range),
      valid_range: semver.validRange(range) !== null,
      valid_version: semver.valid(v) !== null,
    })),
    semver_version: semver.SEMVER_SPEC_VERSION + ' / ' + require(process.argv[2]).version,
  };
  process.stdout.write(JSON.stringify(out));
});
"""

    def __init__(self) -> None:
        self._versions: set[str] = set()
        self._sat: set[tuple[str, str]] = set()
        self._rank: dict[str, Optional[int]] = {}
        self._sat_result: dict[tuple[str, str], dict] = {}
        self.library = ""

    def want_version(self, v: str) -> None:
        self._versions.add(v)

    def want_satisfies(self, v: str, rng: str) -> None:
        self._sat.add((v, rng))

    @staticmethod
    def _module_dir() -> Path:
        mod = NODE_SEMVER_DIR / "node_modules" / "semver"
        if not (mod / "package.json").exists():
            if shutil.which("npm") is None:
                sys.exit("advisory_oracle.py: node semver missing and npm not found")
            NODE_SEMVER_DIR.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["npm", "install", "--prefix", str(NODE_SEMVER_DIR), "--no-audit", "--no-fund", "semver@7"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        return mod

    def run(self) -> None:
        if not self._versions and not self._sat:
            return
        mod = self._module_dir()
        versions = sorted(self._versions)
        sat = sorted(self._sat)
        res = subprocess.run(
            ["node", "-e", self.SCRIPT, str(mod), str(mod / "package.json")],
            input=json.dumps({"versions": versions, "satisfies": [list(s) for s in sat]}),
            capture_output=True,
            text=True,
            check=True,
        )
        out = json.loads(res.stdout)
        self._rank = dict(zip(versions, out["rank"]))
        self._sat_result = dict(zip(sat, out["satisfies"]))
        self.library = out["semver_version"]

    def rank_of(self, v: str) -> Optional[int]:
        return self._rank[v]

    def satisfies(self, v: str, rng: str) -> dict:
        return self._sat_result[(v, rng)]


def pep440_key(v: str) -> Optional[Version]:
    try:
        return Version(v)
    except InvalidVersion:
        return None


_GO_TOOLCHAIN = re.compile(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")


def go_toolchain_to_semver(v: str) -> str:
    """go1.22.5 -> 1.22.5, go1.21 -> 1.21.0, go1.20rc1 -> 1.20.0-rc.1.
    Anything after whitespace (e.g. " X:boringcrypto") is dropped.  Strings
    that are not Go release names are returned unchanged (minus a "go")."""
    v = v.strip().split()[0] if v.strip() else v
    m = _GO_TOOLCHAIN.match(v)
    if not m:
        return v[2:] if v.startswith("go") else v
    major, minor, patch, pre, pre_n = m.groups()
    out = f"{major}.{minor or 0}.{patch or 0}"
    if pre:
        out += f"-{pre}.{pre_n}"
    return out


def go_module_to_semver(v: str) -> str:
    """v1.2.3+incompatible -> 1.2.3 (Go vulndb ranges have no "v")."""
    if v.startswith("v"):
        v = v[1:]
    if v.endswith("+incompatible"):
        v = v[: -len("+incompatible")]
    return v


# ============================================================== OSV evaluation

_INF = object()  # stands for "*" in limit events
_ZERO = object()  # stands for introduced "0"


class Order:
    """Version ordering of one ecosystem, as (key, compare) helpers.  `key`
    returns None for a version the ecosystem cannot parse."""

    def __init__(self, key: Callable[[str], Any], normalise: Callable[[str], str]) -> None:
        self.key = key
        self.normalise = normalise  # applied to record-side versions (Go: strip "v")

    def event_key(self, kind: str, value: str) -> Any:
        if kind == "introduced" and value == "0":
            return _ZERO
        if kind == "limit" and "*" in value:
            return _INF
        return self.key(self.normalise(value))


def _lt(a: Any, b: Any) -> bool:
    """a < b with the _ZERO / _INF sentinels."""
    if a is b:
        return False
    if a is _ZERO or b is _INF:
        return True
    if a is _INF or b is _ZERO:
        return False
    return a < b


def _sort_key_list(events: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """Stable sort of (kind, value, key) by key: _ZERO first, _INF last."""

    def cmp(x, y):
        return -1 if _lt(x[2], y[2]) else (1 if _lt(y[2], x[2]) else 0)

    return sorted(events, key=functools.cmp_to_key(cmp))


def osv_range_matches(v_key: Any, rng: dict, order: Order, warn: Callable[[str], None]) -> Optional[str]:
    """IncludedInRanges for ONE range: returns a description of the matching
    interval, or None.  Transcribes the OSV schema's pseudo-code."""
    events: list[tuple[str, str, Any]] = []
    for e in rng.get("events") or []:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in e:
                value = str(e[kind])
                k = order.event_key(kind, value)
                if k is None:
                    warn(f"unparsable {kind} {value!r}; range not evaluated")
                    return None
                events.append((kind, value, k))

    # BeforeLimits(v, range)
    limits = [k for kind, _, k in events if kind == "limit"]
    if limits and not any(_lt(v_key, k) for k in limits):
        return None

    vulnerable = False
    opened_by = None
    closed_by = None
    for kind, value, k in _sort_key_list(events):
        if kind == "introduced" and (k is _ZERO or not _lt(v_key, k)):  # v >= introduced
            vulnerable, opened_by, closed_by = True, value, None
        elif kind == "fixed" and not _lt(v_key, k):  # v >= fixed
            vulnerable = False
        elif kind == "last_affected" and _lt(k, v_key):  # v > last_affected
            vulnerable = False
        elif vulnerable and closed_by is None and kind in ("fixed", "last_affected"):
            closed_by = f"{kind} {value}"  # only for the explanation
    if not vulnerable:
        return None
    return f"{rng.get('type')} introduced {opened_by}" + (f", {closed_by}" if closed_by else ", no fix")


def osv_affected_entry_matches(
    version: str, entry: OsvEntry, order: Order, warn: Callable[[str], None]
) -> Optional[str]:
    """IncludedInVersions || IncludedInRanges for one affected[] entry.

    Both halves are always evaluated (the result is their OR, as in the
    pseudo-code) so that the explanation can show both, and flag records
    whose `versions` list and ranges disagree about this version."""
    v_key = order.key(version)
    # IncludedInVersions
    in_versions = None
    for listed in entry.versions:
        lk = order.key(order.normalise(listed))
        if (v_key is not None and lk is not None and lk == v_key) or listed == version:
            in_versions = f"versions list contains {listed!r}"
            break
    # IncludedInRanges
    in_ranges = None
    evaluable = [(i, r) for i, r in enumerate(entry.ranges) if r.get("type") != "GIT"]
    if v_key is None:
        if evaluable:
            warn(f"queried version {version!r} is not parsable in this ecosystem; ranges not evaluated")
    else:
        for i, rng in evaluable:
            why = osv_range_matches(v_key, rng, order, lambda m, i=i: warn(f"range[{i}]: {m}"))
            if why:
                in_ranges = f"range[{i}] {why}"
                break
    if not (in_versions or in_ranges):
        return None
    why = "; ".join(w for w in (in_ranges, in_versions) if w)
    if entry.versions and evaluable and (in_versions is None) != (in_ranges is None):
        why += " [NOTE: the versions list and the ranges disagree]"
    return why


# ============================================================== victims


_VICTIMS_EXPR = re.compile(r"^(==|<=|>=)(.+)$")


def victims_matches(version: str, entry: VictimsEntry, warn: Callable[[str], None]) -> Optional[str]:
    v = pep440_key(version)
    if v is None:
        warn(f"queried version {version!r} is not PEP 440")
        return None
    for expr in entry.expressions:
        m = _VICTIMS_EXPR.match(expr.strip())
        if not m:
            warn(f"unrecognised expression {expr!r}")
            continue
        op, rest = m.groups()
        if op == ">=":
            continue  # ignored, as by upstream's victims-cve-db-cli.py
        bound_s, _, series_s = rest.partition(",")
        bound = pep440_key(bound_s.strip())
        series = pep440_key(series_s.strip()) if series_s.strip() else None
        if bound is None or (series_s.strip() and series is None):
            warn(f"unparsable expression {expr!r}")
            continue
        if op == "==" and v == bound:
            return f"version entry {expr!r}"
        if op == "<=" and v <= bound and (series is None or series <= v):
            return f"version entry {expr!r}"
    return None


# ============================================================== driver


def package_key(p: dict) -> str:
    return f"{p['ecosystem']}/{p['name']}@{p['version']}"


def evaluate(db: AdvisoryDb, packages: list[dict]) -> tuple[dict[str, list[str]], list[str]]:
    """Returns ({package key: sorted ids}, explanation lines)."""
    semver = NodeSemver()

    # The record-side normalisation and the query-side normalisation per ecosystem.
    def query_version(p: dict) -> str:
        if p["ecosystem"] == "golang":
            if p["name"] in ("stdlib", "toolchain"):
                return go_toolchain_to_semver(p["version"])
            return go_module_to_semver(p["version"])
        return p["version"]

    record_norm = {"pypi": lambda s: s, "npm": lambda s: s, "golang": go_module_to_semver}

    # Phase 1: collect what node must answer (all versions that will be compared).
    for p in packages:
        eco = p["ecosystem"]
        if eco not in ECOSYSTEMS:
            sys.exit(f"advisory_oracle.py: unknown ecosystem {eco!r} (want one of {ECOSYSTEMS})")
        if eco == "pypi":
            continue
        qv = query_version(p)
        semver.want_version(qv)
        for entry in db.osv.get((eco, norm_name(eco, p["name"])), []):
            for v in entry.versions:
                semver.want_version(record_norm[eco](v))
            for rng in entry.ranges:
                for e in rng.get("events") or []:
                    for value in e.values():
                        semver.want_version(record_norm[eco](str(value)))
        if eco == "npm":
            for rec in db.nswg.get(p["name"], []):
                rng = rec.vulnerable if rec.vulnerable is not None else rec.patched
                if rng is not None:
                    semver.want_satisfies(qv, rng)
    semver.run()

    orders = {
        "pypi": Order(pep440_key, record_norm["pypi"]),
        "npm": Order(semver.rank_of, record_norm["npm"]),
        "golang": Order(semver.rank_of, record_norm["golang"]),
    }

    # Phase 2: evaluate.
    result: dict[str, list[str]] = {}
    explain: list[str] = []
    if semver.library:
        explain.append(f"# node semver {semver.library}")
    for p in packages:
        eco, key = p["ecosystem"], package_key(p)
        qv = query_version(p)
        hits: dict[str, list[str]] = {}

        def warn(origin: str, msg: str) -> None:
            explain.append(f"{key}  WARNING {origin}: {msg}")

        for entry in db.osv.get((eco, norm_name(eco, p["name"])), []):
            why = osv_affected_entry_matches(
                qv, entry, orders[eco], lambda m, o=entry.origin: warn(o, m)
            )
            if why:
                hits.setdefault(entry.record_id, []).append(f"{entry.origin} affected[{entry.index}] {why}")

        if eco == "npm":
            for rec in db.nswg.get(p["name"], []):
                if rec.vulnerable is not None:
                    r = semver.satisfies(qv, rec.vulnerable)
                    hit, what = r["ok"], f"satisfies vulnerable_versions {rec.vulnerable!r}"
                elif rec.patched is not None:
                    r = semver.satisfies(qv, rec.patched)
                    hit, what = not r["ok"], f"does not satisfy patched_versions {rec.patched!r}"
                else:
                    warn(rec.origin, "neither vulnerable_versions nor patched_versions")
                    continue
                if not r["valid_range"] or not r["valid_version"]:
                    warn(rec.origin, f"invalid semver range or version ({what}, version {qv!r})")
                if hit:
                    hits.setdefault(rec.record_id, []).append(f"{rec.origin} {what}")

        if eco == "pypi":
            for ventry in db.victims.get(pep503(p["name"]), []):
                why = victims_matches(qv, ventry, lambda m, o=ventry.origin: warn(o, m))
                if why:
                    hits.setdefault(ventry.record_id, []).append(f"{ventry.origin} {why}")

        result[key] = sorted(hits)
        shown = f" (as {qv})" if qv != p["version"] else ""
        for rid in sorted(hits):
            for why in hits[rid]:
                explain.append(f"{key}{shown}  {rid}  <- {why}")
        if not hits:
            explain.append(f"{key}{shown}  (no advisories)")
    return result, explain


# ============================================================== Go buildinfo


def go_buildinfo_version(path: Path) -> Optional[str]:
    """Go version from the `\\xff Go buildinf:` blob (Go >= 1.18 layout: a
    32-byte header whose flags byte (offset 15) has bit 2 set, followed by the
    version as a uvarint-length-prefixed string).  Falls back to the first
    "go1.x" string for older layouts."""
    data = path.read_bytes()
    i = data.find(b"\xff Go buildinf:")
    if i >= 0 and data[i + 15] & 2:
        p, n, shift = i + 32, 0, 0
        while True:
            b = data[p]
            p += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        return data[p : p + n].decode()
    m = re.search(rb"go1\.\d+(?:\.\d+)?(?:(?:alpha|beta|rc)\d+)?", data)
    return m.group().decode() if m else None


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="advisory data directory (e.g. /work/shared/data)")
    ap.add_argument("--packages", type=Path, help="JSON list of {ecosystem, name, version}")
    ap.add_argument("--explain", action="store_true", help="write why each id matched to stderr")
    ap.add_argument("--go-buildinfo", nargs="+", type=Path, metavar="BINARY", help="print Go versions and exit")
    args = ap.parse_args(argv)

    if args.go_buildinfo:
        for b in args.go_buildinfo:
            print(f"{b}\t{go_buildinfo_version(b)}")
        return 0
    if not args.data or not args.packages:
        ap.error("--data and --packages are required")

    packages = json.loads(args.packages.read_text())
    if isinstance(packages, dict):  # e.g. fat_expected.json: use its "packages" list
        packages = packages["packages"]
    db = AdvisoryDb.load(args.data)
    result, explain = evaluate(db, packages)
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    if args.explain:
        sys.stderr.write("\n".join(explain) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
