package integration_test

// Benchmarks that drive the built injector the way ECS does: one process per
// injection, against moto and MinIO behind proxies that add network latency
// (and, for the fleet, an account-wide SSM rate limit). They fail only on
// wrong files, wrong exit codes, leaked values or extra API calls, never on
// time. Run them with scripts/bench.sh; `go test` without -bench skips them.

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// benchLatency is added to every call a benchmark's proxies forward: a
// round trip to an AWS endpoint in the same region is of this order.
const benchLatency = 20 * time.Millisecond

// benchRunLimit bounds one injector process in a benchmark.
const benchRunLimit = 3 * time.Minute

// BenchmarkInject100SM100SSM10S3 injects 100 Secrets Manager secrets, 100
// SSM SecureString parameters and 10 SSE-KMS S3 objects, one injector
// process per iteration into a fresh directory, with benchLatency on every
// call. It fails unless the injector makes exactly the fewest calls possible:
// 5 BatchGetSecretValue + 10 GetParameters + 10 GetObject.
func BenchmarkInject100SM100SSM10S3(b *testing.B) {
	const nSecrets, nParams, nObjects = 100, 100, 10
	p := uniq()
	var items []map[string]any
	want := map[string]string{}
	add := func(from, path, value string) {
		items = append(items, item(from, path))
		want[path] = value
	}
	secrets := make([]string, nSecrets)
	for i := range secrets {
		secrets[i] = randHex(24)
		add(fmt.Sprintf("secretsmanager:%s/sm/%03d", p, i), fmt.Sprintf("sm/%03d", i), secrets[i])
	}
	params := make([]string, nParams)
	for i := range params {
		params[i] = randHex(24)
		add(fmt.Sprintf("ssm:/%s/ssm/%03d", p, i), fmt.Sprintf("ssm/%03d", i), params[i])
	}
	bucket := p + "-bench"
	objects := make([]string, nObjects)
	for i := range objects {
		objects[i] = randHex(2048) // about the size of a PEM chain
		add(fmt.Sprintf("s3://%s/obj/%02d.pem", bucket, i), fmt.Sprintf("s3/%02d.pem", i), objects[i])
	}
	err := errors.Join(
		benchParallel(nSecrets, func(i int) error {
			_, err := seedSecret(fmt.Sprintf("%s/sm/%03d", p, i), secrets[i])
			return err
		}),
		benchParallel(nParams, func(i int) error {
			return seedParameter(fmt.Sprintf("/%s/ssm/%03d", p, i), params[i], ssmtypes.ParameterTypeSecureString)
		}),
		seedBucket(bucket),
	)
	if err == nil {
		err = benchParallel(nObjects, func(i int) error {
			return seedObject(bucket, fmt.Sprintf("obj/%02d.pem", i), objects[i], "sse-kms", nil)
		})
	}
	if err != nil {
		b.Fatalf("seeding: %v", err)
	}
	spec := specJSON(b, items...)

	moto, motoURL := h.startProxy(b, h.motoDirect, true)
	minio, minioURL := h.startProxy(b, h.minio, true)
	env := h.env(motoURL, minioURL)
	env = append(env, "INJECTOR_SPEC="+spec)
	wantCalls := map[string]int{"BatchGetSecretValue": 5, "GetParameters": 10, "GetObject": 10}
	const wantTotal = 25

	root := b.TempDir()
	var wall, cpu time.Duration
	var peakKiB int64
	seen := map[string]int{} // calls by operation, over all iterations
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp(root, "run-")
		if err != nil {
			b.Fatal(err)
		}
		moto.reset(benchFault(nil))
		minio.reset(benchFault(nil))
		b.StartTimer()

		r, err := h.runInjector(slices.Concat(env, []string{"INJECTOR_DIR=" + dir}), benchRunLimit)

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := r.check(want); err != nil {
			b.Fatal(err)
		}
		if err := benchCheckFiles(dir, want); err != nil {
			b.Fatal(err)
		}
		calls := moto.counts()
		for op, n := range minio.counts() {
			calls[op] += n
		}
		if !maps.Equal(calls, wantCalls) {
			b.Fatalf("API calls %v, want %v (%d in all, the fewest possible)", calls, wantCalls, wantTotal)
		}
		for op, n := range calls {
			seen[op] += n
		}
		wall += r.wall
		cpu += r.cpu
		peakKiB = max(peakKiB, r.maxRSSKiB)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(wall.Microseconds())/1e3/n, "wall-ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/n, "cpu-ms/op")
	total := 0
	for op, c := range seen {
		total += c
		b.ReportMetric(float64(c)/n, op+"/op")
	}
	b.ReportMetric(float64(total)/n, "calls/op")
	b.ReportMetric(float64(peakKiB), "peak-RSS-KiB")
}

// Fleet shape: fleetSize injectors start at once, each with its own
// fleetParams SSM parameters (one GetParameters call) and fleetSecrets
// secrets (one BatchGetSecretValue call), against an account-wide SSM limit
// of fleetTPS calls a second with a burst of fleetBurst.
const (
	fleetSize    = 200
	fleetParams  = 10
	fleetSecrets = 2
	fleetTPS     = 40
	fleetBurst   = 40
)

// BenchmarkFleet200 starts 200 injector processes at once, as a large ECS
// service scaling out does, and checks that the default retry policy rides
// out SSM throttling: every process must exit 0 with the right files.
func BenchmarkFleet200(b *testing.B) {
	p := uniq()
	type member struct {
		env  []string
		want map[string]string // path -> value
	}
	fleet := make([]member, fleetSize)
	for m := range fleet {
		var items []map[string]any
		want := map[string]string{}
		for i := range fleetParams {
			name := fmt.Sprintf("/%s/task%03d/p%02d", p, m, i)
			path := fmt.Sprintf("ssm/%02d", i)
			items = append(items, item("ssm:"+name, path))
			want[path] = randHex(16)
		}
		for i := range fleetSecrets {
			name := fmt.Sprintf("%s/task%03d/s%02d", p, m, i)
			path := fmt.Sprintf("sm/%02d", i)
			items = append(items, item("secretsmanager:"+name, path))
			want[path] = randHex(16)
		}
		fleet[m] = member{env: []string{"INJECTOR_SPEC=" + specJSON(b, items...)}, want: want}
	}
	err := errors.Join(
		benchParallel(fleetSize*fleetParams, func(i int) error {
			m, j := i/fleetParams, i%fleetParams
			return seedParameter(fmt.Sprintf("/%s/task%03d/p%02d", p, m, j), fleet[m].want[fmt.Sprintf("ssm/%02d", j)],
				ssmtypes.ParameterTypeSecureString)
		}),
		benchParallel(fleetSize*fleetSecrets, func(i int) error {
			m, j := i/fleetSecrets, i%fleetSecrets
			_, err := seedSecret(fmt.Sprintf("%s/task%03d/s%02d", p, m, j), fleet[m].want[fmt.Sprintf("sm/%02d", j)])
			return err
		}),
	)
	if err != nil {
		b.Fatalf("seeding: %v", err)
	}

	moto, motoURL := h.startProxy(b, h.motoDirect, true)
	// No S3 here; its endpoint is set anyway so that nothing can reach a real one.
	base := h.env(motoURL, motoURL)

	root := b.TempDir()
	var (
		fleetWall        time.Duration
		calls, throttled int
		maxAttempt       int
		peakKiB          int64
		processWalls     []time.Duration
		processCPU       time.Duration
	)
	for b.Loop() {
		b.StopTimer()
		dirs := make([]string, fleetSize)
		for m := range dirs {
			var err error
			if dirs[m], err = os.MkdirTemp(root, "task-"); err != nil {
				b.Fatal(err)
			}
		}
		moto.reset(benchFault(benchSSMLimit(fleetTPS, fleetBurst)))
		results := make([]run, fleetSize)
		errs := make([]error, fleetSize)
		var done sync.WaitGroup
		startLine := make(chan struct{})
		for m := range fleet {
			env := slices.Concat(base, fleet[m].env, []string{"INJECTOR_DIR=" + dirs[m]})
			done.Go(func() {
				<-startLine
				results[m], errs[m] = h.runInjector(env, benchRunLimit)
			})
		}
		b.StartTimer()
		start := time.Now()
		close(startLine)
		done.Wait()
		fleetWall += time.Since(start)
		b.StopTimer()

		failed := 0
		for m := range fleet {
			err := errs[m]
			if err == nil {
				err = results[m].check(fleet[m].want)
			}
			if err == nil {
				err = benchCheckFiles(dirs[m], fleet[m].want)
			}
			if err != nil {
				failed++
				if failed <= 5 {
					b.Errorf("task %d: %v", m, err)
				}
				continue
			}
			processWalls = append(processWalls, results[m].wall)
			processCPU += results[m].cpu
			peakKiB = max(peakKiB, results[m].maxRSSKiB)
		}
		st := moto.stats()
		calls += st.total
		throttled += st.failed
		maxAttempt = max(maxAttempt, st.maxAttempt)
		if failed > 0 {
			b.Fatalf("%d of %d injectors failed (%d calls, %d throttled, max attempt %d)",
				failed, fleetSize, st.total, st.failed, st.maxAttempt)
		}
		for _, d := range dirs {
			if err := os.RemoveAll(d); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	n := float64(b.N)
	slices.Sort(processWalls)
	b.ReportMetric(fleetWall.Seconds()/n, "fleet-wall-s/op")
	b.ReportMetric(benchPercentile(processWalls, 50).Seconds(), "p50-task-s")
	b.ReportMetric(benchPercentile(processWalls, 99).Seconds(), "p99-task-s")
	b.ReportMetric(float64(calls)/n, "calls/op")
	b.ReportMetric(float64(throttled)/n, "throttled/op")
	b.ReportMetric(float64(maxAttempt), "max-attempt")
	b.ReportMetric(float64(processCPU.Microseconds())/1e3/float64(len(processWalls)), "cpu-ms/task")
	b.ReportMetric(float64(peakKiB), "peak-RSS-KiB")
}

// benchFault adds benchLatency to every call and answers ThrottlingException
// where limit (if not nil) says so.
func benchFault(limit func(*http.Request) bool) faultFunc {
	return func(r *http.Request, _ string, _ int) fault {
		f := fault{delay: benchLatency}
		if limit != nil && limit(r) {
			f.status, f.code = http.StatusBadRequest, "ThrottlingException"
		}
		return f
	}
}

// benchSSMLimit returns a throttle that lets SSM calls through at rate a
// second with the given burst, like an account-wide API limit, and every
// other call through unlimited.
func benchSSMLimit(rate, burst float64) func(*http.Request) bool {
	var mu sync.Mutex
	tokens, last := burst, time.Now()
	return func(r *http.Request) bool {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		tokens = min(burst, tokens+now.Sub(last).Seconds()*rate)
		last = now
		if tokens < 1 {
			return true
		}
		tokens--
		return false
	}
}

// check fails unless the run exited 0 without printing any value, in any
// form leakForms knows.
func (r run) check(want map[string]string) error {
	if len(leaks(r.output, slices.Collect(maps.Values(want)))) > 0 {
		// Do not repeat the output: it holds a secret.
		return errors.New("injector output contains a secret value")
	}
	if r.code != 0 {
		return fmt.Errorf("exit %d, want 0:\n%s", r.code, r.output)
	}
	return nil
}

// benchCheckFiles fails unless dir, empty before the run, holds exactly the
// wanted files (see written). It names paths, never values.
func benchCheckFiles(dir string, want map[string]string) error {
	after, err := visibleSnapshot(dir)
	if err != nil {
		return err
	}
	return errors.Join(written(dir, nil, after, want), layoutErr(dir, slices.Collect(maps.Values(want))))
}

// benchParallel calls fn(0..n-1) on a few goroutines and joins the errors.
func benchParallel(n int, fn func(i int) error) error {
	const workers = 8
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// benchPercentile returns the p-th percentile of sorted durations.
func benchPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}
