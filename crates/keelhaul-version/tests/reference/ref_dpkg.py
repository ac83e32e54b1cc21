# Reference for Scheme::Dpkg: apt_pkg.version_compare (python3-apt; run with /usr/bin/python3).
# Reads "a<TAB>b" lines on stdin, prints -1/0/1 per line.
import sys

import apt_pkg

apt_pkg.init_system()
out = []
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    r = apt_pkg.version_compare(a, b)
    out.append("-1" if r < 0 else "1" if r > 0 else "0")
sys.stdout.write("\n".join(out) + "\n")
