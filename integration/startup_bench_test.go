package integration_test

// The start-up benchmark: the injector against the simplest peer, a program
// that reads each secret with one GetSecretValue and writes it to a file
// (integration/baseline, the same AWS SDK), run side by side.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildShipped builds pkg (relative to integration/) the way the Dockerfile
// builds the injector: static, stripped, without paths.
func buildShipped(b *testing.B, pkg, out string) int64 {
	b.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building %s: %v\n%s", pkg, err, msg)
	}
	fi, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// withExtraCA returns env with its AWS_CA_BUNDLE replaced by a copy that
// also holds the certificates in the PEM file extra: start-up with a CA
// bundle the size of a system's, which the SDK parses before the first
// call.
func withExtraCA(b *testing.B, env []string, extra string) []string {
	b.Helper()
	more, err := os.ReadFile(extra)
	if err != nil {
		b.Fatal(err)
	}
	own, err := os.ReadFile(h.caFile)
	if err != nil {
		b.Fatal(err)
	}
	bundle := filepath.Join(b.TempDir(), "ca-bundle.pem")
	if err := os.WriteFile(bundle, slices.Concat(own, []byte("\n"), more), 0o644); err != nil {
		b.Fatal(err)
	}
	env = slices.Clone(env)
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			env[i] = "AWS_CA_BUNDLE=" + bundle
		}
	}
	return env
}

// BenchmarkStartup runs the injector and the baseline program side by side
// for 1, 20 and 200 Secrets Manager secrets, interleaved (each iteration
// runs both, in alternating order, each into a fresh directory) behind a
// TLS proxy that adds benchLatency to every call. Both binaries are
// built as the image builds the injector. It reports each one's median wall
// time, their ratio (injector / baseline, target at most 1.05 for one
// secret), both binaries' sizes and peak RSS as each process measured it.
// It fails on a wrong file or exit code, never on time. STARTUP_INJECTOR_BIN
// names another injector binary to measure instead (to compare builds);
// STARTUP_EXTRA_CA a PEM file whose certificates both programs are given
// too, with their own (AWS_CA_BUNDLE).
func BenchmarkStartup(b *testing.B) {
	bins := b.TempDir()
	injector, baseline := filepath.Join(bins, "injector"), filepath.Join(bins, "baseline")
	injectorSize := buildShipped(b, "../cmd/injector", injector)
	if alt := os.Getenv("STARTUP_INJECTOR_BIN"); alt != "" {
		// Another build of the injector, to compare variants.
		injector = alt
		fi, err := os.Stat(alt)
		if err != nil {
			b.Fatal(err)
		}
		injectorSize = fi.Size()
	}
	baselineSize := buildShipped(b, "./baseline", baseline)
	for _, n := range []int{1, 20, 200} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			startupPair(b, n, injector, baseline)
			b.ReportMetric(float64(injectorSize)/(1<<20), "injector-MiB")
			b.ReportMetric(float64(baselineSize)/(1<<20), "baseline-MiB")
		})
	}
}

func startupPair(b *testing.B, n int, injector, baseline string) {
	p := uniq()
	names := make([]string, n)
	want := map[string]string{}     // injector: path -> value
	baseWant := map[string]string{} // baseline: file -> value
	var items []map[string]any
	for i := range names {
		names[i] = fmt.Sprintf("%s/s%03d", p, i)
		v := randHex(16)
		want[fmt.Sprintf("s/%03d", i)] = v
		baseWant[strconv.Itoa(i)] = v
		items = append(items, item("secretsmanager:"+names[i], fmt.Sprintf("s/%03d", i)))
	}
	if err := benchParallel(n, func(i int) error {
		_, err := seedSecret(names[i], want[fmt.Sprintf("s/%03d", i)])
		return err
	}); err != nil {
		b.Fatalf("seeding: %v", err)
	}
	moto, motoURL := h.startProxy(b, h.motoDirect, true)
	moto.reset(benchFault(nil))
	base := h.env(motoURL, motoURL)
	if extra := os.Getenv("STARTUP_EXTRA_CA"); extra != "" {
		base = withExtraCA(b, base, extra)
	}
	injEnv := append(slices.Clone(base), "INJECTOR_SPEC="+specJSON(b, items...))
	baseEnv := append(slices.Clone(base), "BASELINE_SECRET_IDS="+strings.Join(names, ","))

	root := b.TempDir()
	var injWalls, baseWalls, ratios []time.Duration
	var injRSS, baseRSS int64
	runOne := func(bin string, env []string, want map[string]string, dirVar string) (run, error) {
		dir, err := os.MkdirTemp(root, "run-")
		if err != nil {
			return run{}, err
		}
		r, err := runBinary(bin, append(slices.Clone(env), dirVar+"="+dir), benchRunLimit)
		if err == nil {
			err = r.check(want)
		}
		if err == nil {
			err = benchCheckFiles(dir, want, dirVar == "INJECTOR_DIR")
		}
		if err == nil {
			err = os.RemoveAll(dir)
		}
		return r, err
	}
	i := 0
	for b.Loop() {
		var ri, rb run
		var err1, err2 error
		if i%2 == 0 {
			ri, err1 = runOne(injector, injEnv, want, "INJECTOR_DIR")
			rb, err2 = runOne(baseline, baseEnv, baseWant, "BASELINE_DIR")
		} else {
			rb, err2 = runOne(baseline, baseEnv, baseWant, "BASELINE_DIR")
			ri, err1 = runOne(injector, injEnv, want, "INJECTOR_DIR")
		}
		i++
		if err1 != nil || err2 != nil {
			b.Fatalf("injector: %v; baseline: %v", err1, err2)
		}
		injWalls = append(injWalls, ri.wall)
		baseWalls = append(baseWalls, rb.wall)
		// The ratio of each pair, in thousandths, kept as a Duration to sort.
		ratios = append(ratios, time.Duration(1000*ri.wall/rb.wall))
		injRSS = max(injRSS, ri.maxRSSKiB)
		baseRSS = max(baseRSS, rb.maxRSSKiB)
	}
	slices.Sort(injWalls)
	slices.Sort(baseWalls)
	slices.Sort(ratios)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(benchPercentile(injWalls, 50)), "injector-ms")
	b.ReportMetric(ms(benchPercentile(baseWalls, 50)), "baseline-ms")
	b.ReportMetric(float64(benchPercentile(ratios, 50))/1000, "ratio")
	b.ReportMetric(float64(injRSS), "injector-peak-RSS-KiB")
	b.ReportMetric(float64(baseRSS), "baseline-peak-RSS-KiB")
}
