package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// Start-up budget: what package initialisation may allocate before main
// runs. Init work is paid on every start, whatever the spec reads: since
// service/ssm v1.80.0 the SDK builds every SSM shape's serde schema at init
// (what that costs is in docs/performance.md), which is why go.mod pins
// service/ssm below v1.80.0. These byte counts are exact for a given set of
// dependencies, so the check is not timed.
const (
	maxInitBytesOnePackage = 256 << 10
	maxInitBytesTotal      = 1536 << 10
)

// buildPlain builds the binary with go build's defaults (symbols kept), or
// skips the test in -short mode.
func buildPlain(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return testsupport.Injector(t)
}

// TestInitCost runs the binary with GODEBUG=inittrace=1 and checks that no
// package's init, and not all of them together, allocate more than the
// budget. It names the packages over budget.
func TestInitCost(t *testing.T) {
	bin := buildPlain(t)
	// No settings: it stops at the configuration, after every init ran.
	cmd := exec.Command(bin)
	cmd.Env = []string{"GODEBUG=inittrace=1"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitConfig {
		t.Fatalf("run without settings: %v, want exit %d", err, exitConfig)
	}
	total, inits := 0, 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, C ms clock, N bytes, M allocs
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("cannot read %q", sc.Text())
		}
		inits++
		total += n
		if n > maxInitBytesOnePackage {
			t.Errorf("package %s allocates %d bytes at init, more than %d", f[1], n, maxInitBytesOnePackage)
		}
	}
	if inits == 0 {
		t.Fatalf("no inittrace lines:\n%s", stderr.String())
	}
	if total > maxInitBytesTotal {
		t.Errorf("package inits allocate %d bytes in all, more than %d", total, maxInitBytesTotal)
	}
	t.Logf("%d package inits allocate %d bytes", inits, total)
}
