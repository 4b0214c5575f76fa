package integration_test

// Benchmarks that drive the built injector the way ECS does: one process per
// injection, against moto and MinIO behind proxies that add network latency
// (and, for the fleet, an account-wide SSM rate limit). They fail only on
// wrong files, wrong exit codes, leaked values or extra API calls, never on
// time. Run them with scripts/bench.sh; `go test` without -bench skips them.

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
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
		if err := benchCheckFiles(dir, want, true); err != nil {
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

// fleetSize injectors start at once in every fleet benchmark.
const fleetSize = 200

// Account-wide API quotas (requests a second) the fleet benchmarks model
// with one token bucket per operation. Secrets Manager's are scaled down by
// fleetQuotaDiv (FLEET_QUOTA_DIV overrides it) so that 200 processes on one
// machine meet the same contention as a fleet that many times larger;
// SSM's standard 40 a second is used as it is.
var secretsQuotas = map[string]float64{"BatchGetSecretValue": 100, "GetSecretValue": 10_000, "DescribeSecret": 40_000}

const (
	fleetQuotaDiv = 100
	ssmQuota      = 40 // GetParameters, standard throughput
)

// fleetShape is what every injector of a fleet reads, and how the proxy
// limits the account.
type fleetShape struct {
	params, secrets int                // per task: SSM parameters, Secrets Manager secrets
	env             []string           // added to every injector's environment
	limits          map[string]float64 // operation -> calls a second (burst: one second's worth)
	runLimit        time.Duration      // bound on one process (benchRunLimit if 0)
}

// BenchmarkFleet200 starts 200 injector processes at once, as a large ECS
// service scaling out does, against a proxy that enforces account quotas
// with one token bucket per operation and answers ThrottlingException
// beyond them. Every process must exit 0 with the right files. It reports
// time to ready (p50, p99 of the processes' wall times), throttled answers
// and total calls:
//
//   - secrets=batch and secrets=auto: 2 secrets per task, with
//     INJECTOR_SECRETS_BATCH=always (one BatchGetSecretValue each) against
//     the default rule (one GetSecretValue per secret), under the Secrets
//     Manager quotas divided by FLEET_QUOTA_DIV (default 100);
//   - ssm: 10 parameters per task (one GetParameters each) at SSM's
//     standard 40 a second.
func BenchmarkFleet200(b *testing.B) {
	div := float64(fleetQuotaDiv)
	if v, err := strconv.ParseFloat(os.Getenv("FLEET_QUOTA_DIV"), 64); err == nil && v > 0 {
		div = v
	}
	scaled := map[string]float64{}
	for op, q := range secretsQuotas {
		scaled[op] = q / div
	}
	// Enough patience for the slowest strategy to finish: at 1 batch a
	// second, 200 tasks take over three minutes.
	patient := []string{"AWS_MAX_ATTEMPTS=100", "INJECTOR_TIMEOUT=15m"}
	b.Run("secrets=batch", func(b *testing.B) {
		runFleet(b, fleetShape{secrets: 2, limits: scaled, runLimit: 20 * time.Minute,
			env: append([]string{"INJECTOR_SECRETS_BATCH=always"}, patient...)})
	})
	b.Run("secrets=auto", func(b *testing.B) {
		runFleet(b, fleetShape{secrets: 2, limits: scaled, runLimit: 20 * time.Minute,
			env: append([]string{"INJECTOR_SECRETS_BATCH=auto"}, patient...)})
	})
	b.Run("ssm", func(b *testing.B) {
		runFleet(b, fleetShape{params: 10, limits: map[string]float64{"GetParameters": ssmQuota}})
	})
}

func runFleet(b *testing.B, shape fleetShape) {
	p := uniq()
	type member struct {
		env  []string
		want map[string]string // path -> value
	}
	paramName := func(m, i int) string { return fmt.Sprintf("/%s/task%03d/p%02d", p, m, i) }
	secretName := func(m, i int) string { return fmt.Sprintf("%s/task%03d/s%02d", p, m, i) }
	fleet := make([]member, fleetSize)
	for m := range fleet {
		var items []map[string]any
		want := map[string]string{}
		for i := range shape.params {
			path := fmt.Sprintf("ssm/%02d", i)
			items = append(items, item("ssm:"+paramName(m, i), path))
			want[path] = randHex(16)
		}
		for i := range shape.secrets {
			path := fmt.Sprintf("sm/%02d", i)
			items = append(items, item("secretsmanager:"+secretName(m, i), path))
			want[path] = randHex(16)
		}
		fleet[m] = member{env: []string{"INJECTOR_SPEC=" + specJSON(b, items...)}, want: want}
	}
	err := errors.Join(
		benchParallel(fleetSize*shape.params, func(i int) error {
			m, j := i/shape.params, i%shape.params
			return seedParameter(paramName(m, j), fleet[m].want[fmt.Sprintf("ssm/%02d", j)], ssmtypes.ParameterTypeSecureString)
		}),
		benchParallel(fleetSize*shape.secrets, func(i int) error {
			m, j := i/shape.secrets, i%shape.secrets
			_, err := seedSecret(secretName(m, j), fleet[m].want[fmt.Sprintf("sm/%02d", j)])
			return err
		}),
	)
	if err != nil {
		b.Fatalf("seeding: %v", err)
	}

	moto, motoURL := h.startProxy(b, h.motoDirect, true)
	// No S3 here; its endpoint is set anyway so that nothing can reach a real one.
	base := slices.Concat(h.env(motoURL, motoURL), shape.env)

	root := b.TempDir()
	var (
		fleetWall        time.Duration
		calls, throttled int
		maxAttempt       int
		peakKiB          int64
		processWalls     []time.Duration
		processCPU       time.Duration
		seen             = map[string]int{}
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
		moto.reset(benchFault(benchLimits(shape.limits)))
		results := make([]run, fleetSize)
		errs := make([]error, fleetSize)
		var done sync.WaitGroup
		startLine := make(chan struct{})
		for m := range fleet {
			env := slices.Concat(base, fleet[m].env, []string{"INJECTOR_DIR=" + dirs[m]})
			done.Go(func() {
				<-startLine
				results[m], errs[m] = h.runInjector(env, cmp.Or(shape.runLimit, benchRunLimit))
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
				err = benchCheckFiles(dirs[m], fleet[m].want, true)
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
		for op, n := range moto.counts() {
			seen[op] += n
		}
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
	b.ReportMetric(benchPercentile(processWalls, 50).Seconds(), "p50-ready-s")
	b.ReportMetric(benchPercentile(processWalls, 99).Seconds(), "p99-ready-s")
	b.ReportMetric(float64(calls)/n, "calls/op")
	b.ReportMetric(float64(throttled)/n, "throttled/op")
	for op, c := range seen {
		b.ReportMetric(float64(c)/n, op+"/op")
	}
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

// benchLimits returns a throttle with one token bucket per operation (by
// opName), like account-wide API quotas: rates[op] calls a second, with a
// burst of one second's worth (at least one call). Operations not in rates
// are not limited.
func benchLimits(rates map[string]float64) func(*http.Request) bool {
	type bucket struct {
		rate, burst, tokens float64
		last                time.Time
	}
	var mu sync.Mutex
	buckets := map[string]*bucket{}
	now := time.Now()
	for op, rate := range rates {
		burst := max(1, rate)
		buckets[op] = &bucket{rate: rate, burst: burst, tokens: burst, last: now}
	}
	return func(r *http.Request) bool {
		bk, ok := buckets[opName(r)]
		if !ok {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		bk.tokens = min(bk.burst, bk.tokens+now.Sub(bk.last).Seconds()*bk.rate)
		bk.last = now
		if bk.tokens < 1 {
			return true
		}
		bk.tokens--
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
// wanted files (see written) and, with layout, in the injector's layout
// (see layoutErr; a baseline program writes plain files). It names paths,
// never values.
func benchCheckFiles(dir string, want map[string]string, layout bool) error {
	after, err := visibleSnapshot(dir)
	if err != nil {
		return err
	}
	if err := written(dir, nil, after, want); err != nil || !layout {
		return err
	}
	return layoutErr(dir, slices.Collect(maps.Values(want)))
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
