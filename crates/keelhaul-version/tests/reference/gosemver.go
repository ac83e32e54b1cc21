// Reference for Scheme::Go: golang.org/x/mod/semver.Compare. The test copies the semver
// package vendored in the Go toolchain ($GOROOT/src/cmd/vendor/golang.org/x/mod/semver)
// next to this file, so no network is needed. Inputs get a leading "v" when missing
// (Go requires it, keelhaul accepts both); E marks an invalid side.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"kvref/semver"
)

func withV(s string) string {
	if strings.HasPrefix(s, "v") {
		return s
	}
	return "v" + s
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		parts := strings.SplitN(in.Text(), "\t", 2)
		a, b := withV(parts[0]), withV(parts[1])
		if !semver.IsValid(a) || !semver.IsValid(b) {
			fmt.Fprintln(out, "E")
			continue
		}
		fmt.Fprintln(out, semver.Compare(a, b))
	}
}
