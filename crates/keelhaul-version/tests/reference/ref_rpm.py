# Reference for Scheme::Rpm: rpm.labelCompare on (epoch, version, release) as rpm's own
# parser (rpm.ver, i.e. rpmverParse/parseEVR) splits "[epoch:]version[-release]";
# a missing epoch is "0", a missing release is None (python3-rpm; /usr/bin/python3).
import sys

import rpm


def evr(s):
    v = rpm.ver(s)
    return (v.e or "0", v.v, v.r)


out = []
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        r = rpm.labelCompare(evr(a), evr(b))
        out.append("-1" if r < 0 else "1" if r > 0 else "0")
    except Exception:
        out.append("E")
sys.stdout.write("\n".join(out) + "\n")
