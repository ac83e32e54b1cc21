# Reference for Scheme::Pep440: packaging.version.Version ordering (pip install packaging).
# Prints -1/0/1, or E when either side raises InvalidVersion.
import sys

from packaging.version import InvalidVersion, Version

out = []
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        out.append("E")
        continue
    out.append("-1" if va < vb else "1" if va > vb else "0")
sys.stdout.write("\n".join(out) + "\n")
