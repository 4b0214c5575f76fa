package integration_test

// Refresh mode: the built injector kept running against moto and MinIO
// through counting, fault-injecting proxies of its own per test. Assertions
// count calls and events rather than time wherever they can; where time is
// the point (how soon a rotation lands), the measured figure is logged and
// the bound is wide.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/engine/notify"
	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

const (
	refreshInterval = time.Second
	// patience bounds every wait for something the injector will do; it
	// is far beyond what a loaded machine needs, so only a hang fails.
	patience = 2 * time.Minute
)

// noDecryption names GetParameters calls made without WithDecryption (the
// change check), which return no SecureString plaintext.
const noDecryption = "GetParameters(no decryption)"

// valueOps are the operations that return secret values.
var valueOps = []string{"BatchGetSecretValue", "GetSecretValue", "GetParameters", "GetObject"}

// callLog records when each call reached a proxy, by operation; GetParameters
// without decryption is told apart.
type callLog struct {
	mu    sync.Mutex
	calls []loggedCall
}

type loggedCall struct {
	op string
	at time.Time
}

func (l *callLog) observe(r *http.Request) {
	op := opName(r)
	if op == "GetParameters" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte(`"WithDecryption":true`)) {
			op = noDecryption
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, loggedCall{op, time.Now()})
}

// count is the number of op calls that arrived after from and before to
// (a zero to means now).
func (l *callLog) count(op string, from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c.op == op && c.at.After(from) && (to.IsZero() || c.at.Before(to)) {
			n++
		}
	}
	return n
}

// since counts calls by operation after from.
func (l *callLog) since(from time.Time) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]int{}
	for _, c := range l.calls {
		if c.at.After(from) {
			m[c.op]++
		}
	}
	return m
}

// refreshRun is one injector process in refresh mode.
type refreshRun struct {
	cmd    *exec.Cmd
	dir    string
	out    *testsupport.Buffer
	exited chan struct{}
	code   int
	log    *callLog
	moto   *proxy
	s3     *proxy
}

// startRefresh starts the injector in refresh mode (interval 1s) on spec
// into dir, with proxies of its own in front of moto and MinIO that log
// every call. It is stopped when t ends.
func startRefresh(t *testing.T, spec, dir string, extra ...string) *refreshRun {
	t.Helper()
	r := &refreshRun{dir: dir, out: &testsupport.Buffer{}, exited: make(chan struct{}), log: &callLog{}}
	var motoURL, s3URL string
	r.moto, motoURL = h.startProxy(t, h.motoDirect, false)
	r.s3, s3URL = h.startProxy(t, h.minio, false)
	r.moto.onRequest(r.log.observe)
	r.s3.onRequest(r.log.observe)
	env := slices.Concat(h.env(motoURL, s3URL), []string{
		"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec,
		"INJECTOR_REFRESH_INTERVAL=" + refreshInterval.String(),
	}, extra)
	r.cmd = exec.Command(h.bin)
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		r.code = r.cmd.ProcessState.ExitCode()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	})
	return r
}

// waitFor polls cond until it holds, failing t after patience.
func (r *refreshRun) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		select {
		case <-r.exited:
			t.Fatalf("injector exited %d while waiting for %s:\n%s", r.code, what, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s:\n%s", what, patience, r.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// status reads the status file; the zero Status if there is none yet.
func (r *refreshRun) status() status.Status {
	s, _ := status.Read(r.dir)
	return s
}

// published waits for generation gen and returns the status that shows it.
func (r *refreshRun) published(t *testing.T, gen int64) status.Status {
	t.Helper()
	var s status.Status
	r.waitFor(t, fmt.Sprintf("generation %d", gen), func() bool {
		s = r.status()
		return s.Generation >= gen
	})
	if s.Generation != gen {
		t.Fatalf("generation %d, want %d", s.Generation, gen)
	}
	return s
}

// checks waits until n more calls of op (one per check) reach the proxies.
func (r *refreshRun) checks(t *testing.T, op string, n int) {
	t.Helper()
	from := time.Now()
	r.waitFor(t, fmt.Sprintf("%d %s calls", n, op), func() bool { return r.log.count(op, from, time.Time{}) >= n })
}

// signal sends sig and returns the exit code and how long the exit took.
func (r *refreshRun) signal(t *testing.T, sig syscall.Signal) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
	case <-time.After(patience):
		t.Fatalf("no exit within %s of %v", patience, sig)
	}
	return r.code, time.Since(start)
}

// health runs `injector health` against dir, as ECS would in the container.
func health(t *testing.T, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command(h.bin, "health")
	cmd.Env = []string{"INJECTOR_DIR=" + dir}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// snapshotNoStatus is snapshot without the injector's status file, which
// every check rewrites.
func snapshotNoStatus(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := snapshotTree(t, dir)
	for p := range snap {
		if strings.HasPrefix(p, status.File) {
			delete(snap, p)
		}
	}
	return snap
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rotateSecret(t *testing.T, id, value string, stages ...string) {
	t.Helper()
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}
	if len(stages) > 0 {
		in.VersionStages = stages
	}
	if _, err := h.sm.PutSecretValue(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// notifySink is the app's reload endpoint: it records each POST and, at
// that moment, what the files say, to show the POST came after the switch.
type notifySink struct {
	mu     sync.Mutex
	posts  []notify.Event
	seen   []map[string]string // the watched files at each POST
	watch  []string            // paths under dir to read at each POST
	dir    string
	status int
}

func newNotifySink(t *testing.T, dir string, watch ...string) (*notifySink, string) {
	s := &notifySink{dir: dir, watch: watch, status: http.StatusNoContent}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL + "/-/reload"
}

func (s *notifySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev notify.Event
	_ = json.NewDecoder(r.Body).Decode(&ev)
	files := map[string]string{}
	for _, p := range s.watch {
		b, _ := os.ReadFile(filepath.Join(s.dir, p))
		files[p] = string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, ev)
	s.seen = append(s.seen, files)
	w.WriteHeader(s.status)
}

func (s *notifySink) received() ([]notify.Event, []map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts), slices.Clone(s.seen)
}

// TestRefreshRotation: a steady state makes no value-fetching call and no
// notification; a rotation in Secrets Manager, SSM or S3 reaches the files
// in the first check after it, fetches only that value, leaves the other
// files' bytes alone and is notified exactly once, after the switch; a
// version staged AWSPENDING changes nothing.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	dbV1, _ := json.Marshal(map[string]string{"user": "app", "password": "pw-1-" + tok})
	arn := putSecret(t, p+"/db", string(dbV1))
	putParameter(t, "/"+p+"/api", "api-1-"+tok, ssmtypes.ParameterTypeSecureString)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "tls.key", "key-1-"+tok, "sse-kms", nil)
	// An SSE-C object: checked with its key, which it takes from a secret.
	ssecKey := []byte(randHex(16))
	putSecret(t, p+"/blob-key", base64.StdEncoding.EncodeToString(ssecKey))
	putObject(t, bucket, "blob", "blob-"+tok, "sse-c", ssecKey)
	spec := specJSON(t,
		item(arn+":password::", "db/password"),
		item(arn+":user::", "db/user"),
		item("ssm:/"+p+"/api", "api"),
		item("s3://"+bucket+"/tls.key", "tls.key"),
		map[string]any{"from": "s3://" + bucket + "/blob", "path": "blob", "sseCustomerKey": "secretsmanager:" + p + "/blob-key"},
	)
	dir := t.TempDir()
	sink, url := newNotifySink(t, dir, "db/password", "api", "tls.key")
	r := startRefresh(t, spec, dir, "INJECTOR_NOTIFY_URL="+url)
	var secrets []string
	defer func() { assertNoSecret(t, r.out.String(), secrets...) }()
	secrets = append(secrets, "pw-1-"+tok, "api-1-"+tok, "key-1-"+tok, "blob-"+tok, string(ssecKey))

	r.published(t, 1)
	if code, out := health(t, dir); code != 0 {
		t.Errorf("health after the first generation: exit %d: %s", code, out)
	}

	// Steady state: three checks of every item, nothing else.
	steady := time.Now()
	before := snapshotNoStatus(t, dir)
	// One parameter: one GetParameters per check. The fourth check starts
	// after the third ended.
	r.checks(t, noDecryption, 4)
	calls := r.log.since(steady)
	for _, op := range valueOps {
		if calls[op] != 0 {
			t.Errorf("steady state: %d %s calls, want none (calls: %v)", calls[op], op, calls)
		}
	}
	if calls[noDecryption] < 3 || calls["DescribeSecret"] < 6 || calls["HeadObject"] < 6 {
		t.Errorf("steady state calls %v: want every item checked each time", calls)
	}
	if d := diffSnapshots(before, snapshotNoStatus(t, dir)); d != "" {
		t.Errorf("steady state changed the output root:\n%s", d)
	}
	if posts, _ := sink.received(); len(posts) != 0 {
		t.Errorf("steady state sent %d notifications", len(posts))
	}

	type rotation struct {
		name      string
		fetchOp   string // the one value call it makes
		path, val string
		rotate    func(val string)
	}
	rotations := []rotation{
		{"secret", "GetSecretValue", "db/password", "pw-2-" + tok, func(v string) {
			b, _ := json.Marshal(map[string]string{"user": "app", "password": v})
			rotateSecret(t, arn, string(b))
		}},
		{"parameter", "GetParameters", "api", "api-2-" + tok, func(v string) {
			putParameter(t, "/"+p+"/api", v, ssmtypes.ParameterTypeSecureString)
		}},
		{"object", "GetObject", "tls.key", "key-2-" + tok, func(v string) {
			putObject(t, bucket, "tls.key", v, "sse-kms", nil)
		}},
	}
	for i, rot := range rotations {
		gen := int64(i + 2)
		secrets = append(secrets, rot.val)
		others := map[string]string{}
		for _, q := range []string{"db/password", "db/user", "api", "tls.key", "blob"} {
			if q != rot.path {
				others[q] = readString(t, filepath.Join(dir, q))
			}
		}
		rot.rotate(rot.val)
		// Every check call that reaches the proxy from now on was sent
		// after the change was made.
		rotated := time.Now()
		st := r.published(t, gen)
		took := st.Published.Sub(rotated)
		t.Logf("%s rotation published %s after it (interval %s ±10%%)", rot.name, took.Round(time.Millisecond), refreshInterval)
		// Count, not time: the first check after the rotation found it (a
		// check under way at the rotation may have found it already).
		if n := r.log.count(noDecryption, rotated, st.Published); n > 1 {
			t.Errorf("%s: %d checks began between the rotation and the switch, want at most 1", rot.name, n)
		}
		if took > refreshInterval*11/10+time.Minute {
			t.Errorf("%s: published %s after the rotation", rot.name, took)
		}
		if got := readString(t, filepath.Join(dir, rot.path)); got != rot.val {
			t.Errorf("%s holds %d bytes, want the new value", rot.path, len(got))
		}
		for q, v := range others {
			if got := readString(t, filepath.Join(dir, q)); got != v {
				t.Errorf("%s changed although its value did not", q)
			}
		}
		// One notification for this change, and no more after two checks.
		r.waitFor(t, "the notification", func() bool { posts, _ := sink.received(); return len(posts) > i })
		r.checks(t, noDecryption, 2)
		values := r.log.since(rotated)
		for _, op := range valueOps {
			want := 0
			if op == rot.fetchOp {
				want = 1
			}
			if values[op] != want {
				t.Errorf("%s: %d %s calls after the rotation, want %d", rot.name, values[op], op, want)
			}
		}
		posts, seen := sink.received()
		if len(posts) != i+1 || posts[i].Generation != gen || !slices.Contains(posts[i].Changed, rot.path) {
			t.Fatalf("%s: notifications %+v, want one for generation %d naming %s", rot.name, posts, gen, rot.path)
		}
		if seen[i][rot.path] != rot.val {
			t.Errorf("%s: the notification came before the files changed", rot.name)
		}
	}

	// A version staged AWSPENDING (a rotation in progress) changes nothing.
	pending := "pw-pending-" + tok
	secrets = append(secrets, pending)
	b, _ := json.Marshal(map[string]string{"user": "app", "password": pending})
	staged := time.Now()
	rotateSecret(t, arn, string(b), "AWSPENDING")
	r.checks(t, noDecryption, 3)
	if got := readString(t, filepath.Join(dir, "db/password")); got != "pw-2-"+tok {
		t.Error("a version staged AWSPENDING reached the files")
	}
	if n := r.log.count("GetSecretValue", staged, time.Time{}) + r.log.count("BatchGetSecretValue", staged, time.Time{}); n != 0 {
		t.Errorf("%d value fetches for an AWSPENDING version", n)
	}
	if posts, _ := sink.received(); len(posts) != len(rotations) {
		t.Errorf("%d notifications, want %d", len(posts), len(rotations))
	}
	if code, took := r.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d after %s", code, took)
	}
}

// TestRefreshReaderNeverMixed: a reader that resolves ..data once and reads
// two files under it, in a loop, never sees values from two generations
// while the secret behind both is rotated again and again.
func TestRefreshReaderNeverMixed(t *testing.T) {
	t.Parallel()
	p := uniq()
	pair := func(n int) string {
		b, _ := json.Marshal(map[string]string{"a": fmt.Sprintf("v%03d-a", n), "b": fmt.Sprintf("v%03d-b", n)})
		return string(b)
	}
	arn := putSecret(t, p+"/pair", pair(0))
	spec := specJSON(t, item(arn+":a::", "pair/a"), item(arn+":b::", "pair/b"))
	dir := t.TempDir()
	r := startRefresh(t, spec, dir)
	r.published(t, 1)
	if _, err := os.Lstat(filepath.Join(dir, "..data")); err != nil {
		t.Skip("the output root has no ..data generation link (the generation layout is not in this build)")
	}
	var stop sync.WaitGroup
	done := make(chan struct{})
	var reads, mixed int
	var firstMix string
	stop.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			gen, err := os.Readlink(filepath.Join(dir, "..data"))
			if err != nil {
				continue
			}
			a, errA := os.ReadFile(filepath.Join(dir, gen, "pair/a"))
			b, errB := os.ReadFile(filepath.Join(dir, gen, "pair/b"))
			if errA != nil || errB != nil {
				continue // the generation was removed after the switch: resolve again
			}
			reads++
			if strings.TrimSuffix(string(a), "-a") != strings.TrimSuffix(string(b), "-b") {
				mixed++
				if firstMix == "" {
					firstMix = fmt.Sprintf("%q and %q", a, b)
				}
			}
		}
	})
	const rotations = 6
	for n := 1; n <= rotations; n++ {
		rotateSecret(t, arn, pair(n))
		r.published(t, int64(n+1))
	}
	close(done)
	stop.Wait()
	t.Logf("%d reads of the pair across %d generations", reads, rotations+1)
	if mixed > 0 {
		t.Errorf("%d of %d reads saw a mixed pair, first %s", mixed, reads, firstMix)
	}
	if reads == 0 {
		t.Error("the reader never read the pair")
	}
}

// TestRefreshOutage: while every call fails for several intervals, the
// last files stay, the log names the reference and the error (never a
// value), and health turns red only once the staleness limit has passed
// since the last good check; after recovery the rotation made during the
// outage lands and health is green again.
func TestRefreshOutage(t *testing.T) {
	t.Parallel()
	const staleness = 10 * time.Second
	p := uniq()
	tok := randHex(6)
	putSecret(t, p+"/db", "db-1-"+tok)
	putParameter(t, "/"+p+"/api", "api-1-"+tok, ssmtypes.ParameterTypeSecureString)
	spec := specJSON(t, item("secretsmanager:"+p+"/db", "db"), item("ssm:/"+p+"/api", "api"))
	dir := t.TempDir()
	r := startRefresh(t, spec, dir, "INJECTOR_MAX_STALENESS="+staleness.String(), "AWS_MAX_ATTEMPTS=1", "INJECTOR_TIMEOUT=5s")
	secrets := []string{"db-1-" + tok, "api-1-" + tok, "db-2-" + tok}
	defer func() { assertNoSecret(t, r.out.String(), secrets...) }()
	r.published(t, 1)
	r.checks(t, "DescribeSecret", 1)

	for _, pr := range []*proxy{r.moto, r.s3} {
		pr.reset(func(_ *http.Request, op string, n int) fault {
			if op == "DescribeSecret" && n%2 == 0 {
				return throttlingFault
			}
			return internalFault
		})
	}
	outage := time.Now()
	// A check already past its calls may still succeed; the first failure
	// marks the last good check.
	r.waitFor(t, "a failed check", func() bool { return r.status().ConsecutiveFailures > 0 })
	lastGood := r.status().LastCheck
	before := snapshotNoStatus(t, dir)
	rotateSecret(t, p+"/db", "db-2-"+tok)

	// Green while the last good check is recent (with a wide margin for
	// starting the health process).
	if age := time.Since(lastGood); age < 3*time.Second {
		if code, out := health(t, dir); code != 0 {
			t.Errorf("health %s into the outage (last good check %s ago): exit %d: %s", time.Since(outage), age, code, out)
		}
	}
	// Several intervals of failed checks.
	r.waitFor(t, "failed checks", func() bool { return r.status().ConsecutiveFailures >= 4 })
	if s := r.status(); !s.LastCheck.Equal(lastGood) {
		t.Errorf("last good check moved during the outage: %v -> %v", lastGood, s.LastCheck)
	}
	// Red once the limit has passed; it can only get older from here.
	r.waitFor(t, "the staleness limit to pass", func() bool { return time.Since(lastGood) > staleness+500*time.Millisecond })
	code, out := health(t, dir)
	if code == 0 {
		t.Errorf("health %s after the last good check (limit %s): exit 0: %s", time.Since(lastGood), staleness, out)
	}
	t.Logf("health during the outage: exit %d: %s", code, strings.TrimSpace(out))
	if d := diffSnapshots(before, snapshotNoStatus(t, dir)); d != "" {
		t.Errorf("the outage changed the output root:\n%s", d)
	}
	if got := readString(t, filepath.Join(dir, "db")); got != "db-1-"+tok {
		t.Error("db lost its last good value during the outage")
	}
	r.waitFor(t, "the unhealthy log line", func() bool { return strings.Contains(r.out.String(), "unhealthy") })

	// Recovery.
	r.moto.reset(nil)
	r.s3.reset(nil)
	r.published(t, 2)
	r.waitFor(t, "a good check", func() bool { return r.status().ConsecutiveFailures == 0 })
	if got := readString(t, filepath.Join(dir, "db")); got != "db-2-"+tok {
		t.Error("the rotation made during the outage did not land")
	}
	if code, out := health(t, dir); code != 0 {
		t.Errorf("health after recovery: exit %d: %s", code, out)
	}
	// The check writes the status file before it logs the recovery.
	r.waitFor(t, "the healthy again log line", func() bool { return strings.Contains(r.out.String(), "healthy again") })
	logs := strings.ReplaceAll(r.out.String(), `\"`, `"`)
	for _, want := range []string{"check failed; keeping the last good files", "DescribeSecret of secretsmanager:" + p + "/db",
		"InternalFailure", "ThrottlingException", "GetParameters of /" + p + "/api", "unhealthy: files unconfirmed", "healthy again"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log does not say %q", want)
		}
	}
}

// TestRefreshSignals: SIGTERM, SIGINT, SIGQUIT and SIGABRT end refresh
// mode with a log line naming the signal, exit 0 and the files in place,
// also in the middle of a check that would hang for a minute.
func TestRefreshSignals(t *testing.T) {
	t.Parallel()
	p := uniq()
	putSecret(t, p+"/db", "db-"+randHex(6))
	spec := specJSON(t, item("secretsmanager:"+p+"/db", "db"))
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		stall bool
	}{
		{"SIGTERM between checks", syscall.SIGTERM, false},
		{"SIGINT between checks", syscall.SIGINT, false},
		{"SIGQUIT between checks", syscall.SIGQUIT, false},
		{"SIGABRT between checks", syscall.SIGABRT, false},
		{"SIGTERM during a hung check", syscall.SIGTERM, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := startRefresh(t, spec, dir)
			r.published(t, 1)
			before := snapshotNoStatus(t, dir)
			if tc.stall {
				r.moto.reset(faultAlways(stallFault, "DescribeSecret"))
				r.checks(t, "DescribeSecret", 1)
			}
			code, took := r.signal(t, tc.sig)
			t.Logf("exit %d %s after %v", code, took.Round(time.Millisecond), tc.sig)
			if code != 0 {
				t.Errorf("exit %d, want 0:\n%s", code, r.out.String())
			}
			if took > 30*time.Second {
				t.Errorf("exit took %s", took)
			}
			if d := diffSnapshots(before, snapshotNoStatus(t, dir)); d != "" {
				t.Errorf("files changed on the way out:\n%s", d)
			}
			if name, _, _ := strings.Cut(tc.name, " "); !strings.Contains(r.out.String(), name+" received: stopping") {
				t.Errorf("no log line says %s stopped the run:\n%s", name, r.out.String())
			}
		})
	}
}

// TestRefreshSIGHUP: SIGHUP asks refresh mode for a check at once: it is
// logged, the process keeps running, and a rotation reaches the files long
// before the interval (an hour) would have found it. A burst of 100
// SIGHUPs within a second makes at most two checks (one at once, one for
// the SIGHUPs that came after it started).
func TestRefreshSIGHUP(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	arn := putSecret(t, p+"/db", "db-1-"+tok)
	dir := t.TempDir()
	r := startRefresh(t, specJSON(t, item(arn, "db")), dir, "INJECTOR_REFRESH_INTERVAL=1h", "INJECTOR_MAX_STALENESS=2h")
	defer func() { assertNoSecret(t, r.out.String(), "db-1-"+tok, "db-2-"+tok) }()
	r.published(t, 1)

	hup := func() {
		t.Helper()
		if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Now()
	hup()
	r.waitFor(t, "the SIGHUP log line", func() bool {
		return strings.Contains(r.out.String(), "SIGHUP received: checking for changes now")
	})
	r.waitFor(t, "the check SIGHUP asked for", func() bool { return r.log.count("DescribeSecret", from, time.Time{}) >= 1 })
	if got := readString(t, filepath.Join(dir, "db")); got != "db-1-"+tok {
		t.Errorf("db changed with no rotation")
	}

	rotateSecret(t, arn, "db-2-"+tok)
	rotated := time.Now()
	hup()
	st := r.published(t, 2)
	t.Logf("SIGHUP after a rotation published it %s later (interval 1h)", st.Published.Sub(rotated).Round(time.Millisecond))
	if got := readString(t, filepath.Join(dir, "db")); got != "db-2-"+tok {
		t.Errorf("db holds %d bytes after the SIGHUP, want the rotated value", len(got))
	}

	// Past the gap since the last check, so the burst's first SIGHUP
	// checks at once.
	time.Sleep(engine.NowGap)
	burst := time.Now()
	for range 100 {
		hup()
	}
	took := time.Since(burst)
	// Any further check would start within a gap of the one before.
	time.Sleep(3 * engine.NowGap)
	checks := r.log.count("DescribeSecret", burst, time.Time{})
	limit := 2 + int(took/engine.NowGap)
	t.Logf("100 SIGHUPs in %s made %d checks", took.Round(time.Microsecond), checks)
	if checks < 1 || checks > limit {
		t.Errorf("100 SIGHUPs in %s made %d checks, want 1 to %d", took, checks, limit)
	}
	if code, took := r.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d after %s:\n%s", code, took, r.out.String())
	}
}

// TestRefreshIgnoredSignals: each other signal whose Go default would end
// the process (or that an operator might send expecting something) is
// logged by name and changes nothing: the process keeps running and still
// stops on SIGTERM with exit 0.
func TestRefreshIgnoredSignals(t *testing.T) {
	t.Parallel()
	p := uniq()
	arn := putSecret(t, p+"/db", "db-"+randHex(6))
	dir := t.TempDir()
	r := startRefresh(t, specJSON(t, item(arn, "db")), dir, "INJECTOR_REFRESH_INTERVAL=1h", "INJECTOR_MAX_STALENESS=2h")
	r.published(t, 1)
	before := snapshotNoStatus(t, dir)
	for _, sig := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGUSR1", syscall.SIGUSR1}, {"SIGUSR2", syscall.SIGUSR2},
		{"SIGILL", syscall.SIGILL}, {"SIGTRAP", syscall.SIGTRAP}, {"SIGBUS", syscall.SIGBUS},
		{"SIGFPE", syscall.SIGFPE}, {"SIGSEGV", syscall.SIGSEGV}, {"SIGSTKFLT", syscall.SIGSTKFLT},
		{"SIGSYS", syscall.SIGSYS},
	} {
		if err := r.cmd.Process.Signal(sig.sig); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, sig.name+"'s log line", func() bool { return strings.Contains(r.out.String(), sig.name+" received: ignored") })
	}
	if d := diffSnapshots(before, snapshotNoStatus(t, dir)); d != "" {
		t.Errorf("files changed:\n%s", d)
	}
	if code, took := r.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d after %s:\n%s", code, took, r.out.String())
	}
	if strings.Contains(r.out.String(), "goroutine ") {
		t.Errorf("a stack dump in the output:\n%s", r.out.String())
	}
}

// TestRefreshNotifyFIFO: a FIFO as INJECTOR_NOTIFY_PID_FILE is a logged
// notification failure, never a hang: after a rotation SIGTERM still
// stops refresh mode with exit 0.
func TestRefreshNotifyFIFO(t *testing.T) {
	t.Parallel()
	p := uniq()
	arn := putSecret(t, p+"/db", "v1")
	dir, work := t.TempDir(), t.TempDir()
	fifo := filepath.Join(work, "app.pid")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startRefresh(t, specJSON(t, item(arn, "db")), dir, "INJECTOR_NOTIFY_SIGNAL=SIGHUP", "INJECTOR_NOTIFY_PID_FILE="+fifo)
	r.published(t, 1)
	rotateSecret(t, arn, "v2")
	r.published(t, 2)
	r.waitFor(t, "the failed notification", func() bool {
		out := r.out.String()
		return strings.Contains(out, "notification failed") && strings.Contains(out, "a FIFO, not a regular file")
	})
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A generous bound, only so that a hang fails rather than waits.
	select {
	case <-r.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("refresh mode did not stop within 20s of SIGTERM:\n%s", r.out.String())
	}
	if r.code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", r.code, r.out.String())
	}
}

// TestRefreshSignalNotification: INJECTOR_NOTIFY_SIGNAL reaches a real
// process (bash trapping SIGHUP) found by its pid file or by its name in
// /proc, once per change and after the switch.
func TestRefreshSignalNotification(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, target := range []string{"pid file", "process name"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			p := uniq()
			arn := putSecret(t, p+"/db", "v1")
			dir, work := t.TempDir(), t.TempDir()
			hups := filepath.Join(work, "hups")
			// The app is bash under a name of its own (a link to it), so
			// that /proc shows that name; on each SIGHUP it appends what
			// the file holds then.
			name := "app-" + randHex(4)
			bash, _ := exec.LookPath("bash")
			if err := os.Symlink(bash, filepath.Join(work, name)); err != nil {
				t.Fatal(err)
			}
			app := exec.Command(filepath.Join(work, name), "-c",
				`echo $$ > "$1/app.pid"; trap 'cat "$2/db" >> "$1/hups"; echo >> "$1/hups"' HUP; while :; do sleep 0.05; done`,
				"app", work, dir)
			if err := app.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = app.Process.Kill(); _ = app.Wait() })
			env := []string{"INJECTOR_NOTIFY_SIGNAL=SIGHUP", "INJECTOR_NOTIFY_PID_FILE=" + filepath.Join(work, "app.pid")}
			if target == "process name" {
				env[1] = "INJECTOR_NOTIFY_PROCESS=" + name
			}
			r := startRefresh(t, specJSON(t, item(arn, "db")), dir, env...)
			r.published(t, 1)
			for n := 2; n <= 3; n++ {
				rotateSecret(t, arn, "v"+strconv.Itoa(n))
				r.published(t, int64(n))
				r.waitFor(t, "the app's SIGHUP", func() bool {
					b, _ := os.ReadFile(hups)
					return strings.Count(string(b), "\n") >= n-1
				})
			}
			r.checks(t, "DescribeSecret", 2)
			got, _ := os.ReadFile(hups)
			if string(got) != "v2\nv3\n" {
				t.Errorf("the app saw %q at its SIGHUPs, want one per change, after it: \"v2\\nv3\\n\"", got)
			}
		})
	}
}

// TestRefreshConfigErrors: an invalid refresh setting or a bad spec in
// refresh mode is exit 2 before any call.
func TestRefreshConfigErrors(t *testing.T) {
	p := uniq()
	good := specJSON(t, item("secretsmanager:"+p+"/x", "x"))
	refreshed := func(extra ...string) []string { return append([]string{"INJECTOR_REFRESH_INTERVAL=1m"}, extra...) }
	cases := []faultCase{
		{name: "interval below 1s", spec: good, extra: []string{"INJECTOR_REFRESH_INTERVAL=999ms"}, wantMsg: []string{"at least 1s"}},
		{name: "interval not a duration", spec: good, extra: []string{"INJECTOR_REFRESH_INTERVAL=60"}, wantMsg: []string{"not a Go duration"}},
		{name: "staleness below the interval", spec: good, extra: refreshed("INJECTOR_MAX_STALENESS=59s"), wantMsg: []string{"INJECTOR_MAX_STALENESS"}},
		{name: "staleness without refresh", spec: good, extra: []string{"INJECTOR_MAX_STALENESS=1m"}, wantMsg: []string{"refresh mode only"}},
		{name: "remote notify URL", spec: good, extra: refreshed("INJECTOR_NOTIFY_URL=http://169.254.170.2/reload"), wantMsg: []string{"loopback"}},
		{name: "signal without target", spec: good, extra: refreshed("INJECTOR_NOTIFY_SIGNAL=HUP"), wantMsg: []string{"INJECTOR_NOTIFY_PID_FILE"}},
		{name: "unknown signal", spec: good, extra: refreshed("INJECTOR_NOTIFY_SIGNAL=SIGSTOP", "INJECTOR_NOTIFY_PROCESS=app"), wantMsg: []string{"SIGSTOP"}},
		{name: "bad spec", spec: `[{"from":"secretsmanager:x","path":"../x"}]`, extra: refreshed(), wantMsg: []string{"stay inside"}},
		{name: "ecs-config", spec: specJSON(t, map[string]any{"from": "secretsmanager:x", "path": "ecs.config", "format": "ecs-config", "registry": "r.example.com"}),
			extra: refreshed(), wantMsg: []string{"ecs-config"}},
	}
	for i := range cases {
		cases[i].wantCode, cases[i].noCall = 2, true
	}
	runFaultCases(t, nil, cases)
}

// TestRefreshHealthBeforeFirstGeneration: health is red when nothing was
// published, and when INJECTOR_DIR is not set.
func TestRefreshHealthBeforeFirstGeneration(t *testing.T) {
	t.Parallel()
	if code, out := health(t, t.TempDir()); code != 1 || !strings.Contains(out, "no status file") {
		t.Errorf("empty root: exit %d: %s", code, out)
	}
	if code, out := health(t, ""); code != 1 || !strings.Contains(out, "INJECTOR_DIR") {
		t.Errorf("no INJECTOR_DIR: exit %d: %s", code, out)
	}
}

// TestOneShotSignals: a one-shot run in the middle of a fetch that would
// hang logs a SIGHUP and carries on (it ends on its own), and on SIGTERM
// logs that it stops and fails, leaving nothing written.
func TestOneShotSignals(t *testing.T) {
	t.Parallel()
	p := uniq()
	putSecret(t, p+"/db", "db-"+randHex(6))
	mp, motoURL := h.startProxy(t, h.motoDirect, false)
	mp.reset(faultAlways(stallFault, "GetSecretValue", "BatchGetSecretValue"))
	dir := t.TempDir()
	cmd := exec.Command(h.bin)
	cmd.Env = append(h.env(motoURL, h.minio), "INJECTOR_DIR="+dir,
		"INJECTOR_SPEC="+specJSON(t, item("secretsmanager:"+p+"/db", "db")), "INJECTOR_TIMEOUT=5m")
	out := &testsupport.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	waitOut := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(patience); !cond(); time.Sleep(10 * time.Millisecond) {
			select {
			case <-exited:
				t.Fatalf("exited %d while waiting for %s:\n%s", cmd.ProcessState.ExitCode(), what, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %s:\n%s", what, patience, out.String())
			}
		}
	}
	waitOut("the fetch", func() bool { return mp.count("GetSecretValue")+mp.count("BatchGetSecretValue") > 0 })
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitOut("the SIGHUP log line", func() bool {
		return strings.Contains(out.String(), "SIGHUP received: ignored; a one-shot run ends on its own")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(patience):
		t.Fatalf("no exit within %s of SIGTERM:\n%s", patience, out.String())
	}
	code := cmd.ProcessState.ExitCode()
	t.Logf("exit %d after SIGHUP then SIGTERM:\n%s", code, out.String())
	if code == 0 || code == -1 {
		t.Errorf("exit %d after SIGTERM, want a failure code", code)
	}
	for _, want := range []string{"SIGTERM received: stopping", "injection failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q", want)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stopped run wrote db (%v)", err)
	}
}
