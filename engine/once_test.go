package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/secret"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// fakeFetcher answers from a map of reference targets to values and records
// every call's requests (copied, and also as passed, to catch aliasing).
type fakeFetcher struct {
	mu     sync.Mutex
	values map[string]string // by ref.Target.String()
	fail   map[string]error  // by ref.Target.String()
	calls  [][]sources.Request
	passed [][]sources.Request
	block  bool
}

func (f *fakeFetcher) Fetch(ctx context.Context, reqs []sources.Request) (sources.Values, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(reqs))
	f.passed = append(f.passed, reqs)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, &sources.Error{Ref: "fetch", Err: ctx.Err()}
	}
	out := sources.Values{}
	var errs []error
	for _, r := range reqs {
		k := r.Target.String()
		if err, ok := f.fail[k]; ok {
			errs = append(errs, &sources.Error{Ref: k, Service: "fake", Operation: "Get", Err: err})
			continue
		}
		v, ok := f.values[k]
		if !ok {
			errs = append(errs, &sources.Error{Ref: k, Err: errors.New("not found")})
			continue
		}
		out[r.Target] = secret.New([]byte(v), secret.Version{ID: "1"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

var opts = writer.Options{Mode: 0o400, UID: -1, GID: -1}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRunFormats(t *testing.T) {
	dir := t.TempDir()
	f := &fakeFetcher{values: map[string]string{
		"secretsmanager:app/db":  `{"user":"admin","password":"pw","port":5432}`,
		"ssm:/app/key":           "api-key",
		"secretsmanager:ci/ghcr": `{"username":"u","password":"p"}`,
	}}
	p := testplan.Plan(t, `[
		{"from": "secretsmanager:app/db:password::", "path": "db/password"},
		{"from": "secretsmanager:app/db", "path": "db/all", "format": "explode"},
		{"from": "secretsmanager:app/db", "path": "db.env", "format": "dotenv"},
		{"from": "ssm:/app/key", "path": "key"},
		{"path": "conf", "format": "template", "template": "{{.key}}:{{(json .db).user}}", "inputs": {"key": "ssm:/app/key", "db": "secretsmanager:app/db"}},
		{"from": "secretsmanager:ci/ghcr", "path": "docker/config.json", "format": "dockerconfigjson", "registry": "ghcr.io"},
		{"from": "secretsmanager:ci/ghcr", "path": "dockercfg", "format": "dockercfg", "registry": "ghcr.io"}
	]`)
	rep, err := engine.Once(context.Background(), p, f, dir, opts, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 || len(f.calls[0]) != 3 {
		t.Fatalf("fetch calls %v, want one call with each target once", f.calls)
	}
	if rep.Fetched != 3 || len(rep.Files) != 9 {
		t.Errorf("report %+v", rep)
	}
	got := testsupport.VisibleFiles(t, dir)
	auth := base64.StdEncoding.EncodeToString([]byte("u:p"))
	want := map[string]string{
		"db/password":        "pw",
		"db/all/user":        "admin",
		"db/all/password":    "pw",
		"db/all/port":        "5432",
		"db.env":             "user='admin'\npassword='pw'\nport='5432'\n",
		"key":                "api-key",
		"conf":               "api-key:admin",
		"docker/config.json": `{"auths":{"ghcr.io":{"auth":"` + auth + `"}}}` + "\n",
		"dockercfg":          `{"ghcr.io":{"auth":"` + auth + `","email":""}}` + "\n",
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s missing", k)
		} else if k != "docker/config.json" && k != "dockercfg" && k != "db.env" && g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("files %v", slices.Sorted(maps.Keys(got)))
	}
}

func TestRunSSECustomerKeyTwoRounds(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f := &fakeFetcher{values: map[string]string{
		"secretsmanager:blob-key": key,
		"s3://b/blob":             "blob",
		"ssm:/p":                  "p",
		"s3://b/other":            "other",
	}}
	p := testplan.Plan(t, `[
		{"from": "s3://b/blob", "path": "blob", "sseCustomerKey": "secretsmanager:blob-key"},
		{"from": "ssm:/p", "path": "p"},
		{"from": "s3://b/other", "path": "other", "sseCustomerKey": "secretsmanager:blob-key"}
	]`)
	if _, err := engine.Once(context.Background(), p, f, t.TempDir(), opts, quiet()); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 2 {
		t.Fatalf("%d fetch calls, want 2 rounds", len(f.calls))
	}
	var first []string
	for _, r := range f.calls[0] {
		first = append(first, r.Target.String())
		if r.SSECustomerKey != nil {
			t.Errorf("first round carries a key for %s", r.Target)
		}
	}
	if !slices.Contains(first, "secretsmanager:blob-key") || !slices.Contains(first, "ssm:/p") || len(first) != 2 {
		t.Errorf("first round %v", first)
	}
	if len(f.calls[1]) != 2 {
		t.Fatalf("second round %v", f.calls[1])
	}
	for _, r := range f.calls[1] {
		if len(r.SSECustomerKey) != 32 {
			t.Errorf("%s: key of %d bytes", r.Target, len(r.SSECustomerKey))
		}
	}
	// The rounds must not share a backing array: what the first call was
	// given is unchanged after the second was built.
	if !slices.EqualFunc(f.calls[0], f.passed[0], func(a, b sources.Request) bool { return a.Target == b.Target }) {
		t.Errorf("first round's requests were overwritten by the second: %v", f.passed[0])
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		values  map[string]string
		fail    map[string]error
		want    error
		wantMsg string
	}{
		{
			name:    "one of several fetches fails",
			spec:    `[{"from": "ssm:/a", "path": "a"}, {"from": "ssm:/b", "path": "b"}]`,
			values:  map[string]string{"ssm:/a": "A"},
			fail:    map[string]error{"ssm:/b": errors.New("AccessDenied")},
			want:    sources.ErrFetch,
			wantMsg: "ssm:/b",
		},
		{
			name:    "bad SSE-C key value",
			spec:    `[{"from": "s3://b/o", "path": "o", "sseCustomerKey": "ssm:/k"}]`,
			values:  map[string]string{"ssm:/k": "not-a-key", "s3://b/o": "x"},
			want:    sources.ErrFetch,
			wantMsg: "base64-encoded 256-bit key",
		},
		{
			name:    "SSE-C object fails in the second round",
			spec:    `[{"from": "s3://b/o", "path": "o", "sseCustomerKey": "ssm:/k"}, {"from": "ssm:/a", "path": "a"}]`,
			values:  map[string]string{"ssm:/k": base64.StdEncoding.EncodeToString(make([]byte, 32)), "ssm:/a": "A"},
			fail:    map[string]error{"s3://b/o": errors.New("AccessDenied")},
			want:    sources.ErrFetch,
			wantMsg: "s3://b/o",
		},
		{
			name:    "missing JSON key",
			spec:    `[{"from": "secretsmanager:s:nope::", "path": "a"}]`,
			values:  map[string]string{"secretsmanager:s": `{"k":"v"}`},
			want:    engine.ErrRender,
			wantMsg: "a:",
		},
		{
			name:    "explode of a non-object",
			spec:    `[{"from": "ssm:/a", "path": "d", "format": "explode"}, {"from": "ssm:/b", "path": "b"}]`,
			values:  map[string]string{"ssm:/a": "plain", "ssm:/b": "B"},
			want:    engine.ErrRender,
			wantMsg: "d:",
		},
		{
			name:    "registry value without password",
			spec:    `[{"from": "ssm:/a", "path": "c.json", "format": "dockerconfigjson", "registry": "ghcr.io"}]`,
			values:  map[string]string{"ssm:/a": `{"username":"u"}`},
			want:    engine.ErrRender,
			wantMsg: "ssm:/a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := &fakeFetcher{values: tt.values, fail: tt.fail}
			_, err := engine.Once(context.Background(), testplan.Plan(t, tt.spec), f, dir, opts, quiet())
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v naming %q", err, tt.want, tt.wantMsg)
			}
			for _, v := range tt.values {
				if len(v) > 2 && strings.Contains(err.Error(), v) {
					t.Errorf("error holds a value")
				}
			}
			if got := testsupport.VisibleFiles(t, dir); len(got) != 0 {
				t.Errorf("files written after a failure: %v", got)
			}
			checkNoGeneration(t, dir)
		})
	}
}

// checkNoGeneration fails if the injector left any of its names under dir
// but the lock file (the writer prepares while values are fetched).
func checkNoGeneration(t *testing.T, dir string) {
	t.Helper()
	names, _, err := testsupport.InjectorNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n != "..lock" {
			t.Errorf("left %s behind", n)
		}
	}
}

// TestRunFetchFailsWhileLocked: while another run holds the root's lock, a
// run whose fetch fails reports the fetch error at once instead of waiting
// for the lock (its context has no deadline: waiting would hang).
func TestRunFetchFailsWhileLocked(t *testing.T) {
	dir := t.TempDir()
	lock, err := os.OpenFile(filepath.Join(dir, "..lock"), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	f := &fakeFetcher{fail: map[string]error{"ssm:/a": errors.New("AccessDenied")}}
	_, err = engine.Once(context.Background(), testplan.Plan(t, `[{"from": "ssm:/a", "path": "a"}]`), f, dir, opts, quiet())
	if !errors.Is(err, sources.ErrFetch) || errors.Is(err, writer.ErrWrite) {
		t.Fatalf("err = %v, want only the fetch error", err)
	}
	checkNoGeneration(t, dir)
}

func TestRunCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeFetcher{block: true}
	done := make(chan error, 1)
	go func() {
		_, err := engine.Once(ctx, testplan.Plan(t, `[{"from": "ssm:/a", "path": "a"}]`), f, dir, opts, quiet())
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, sources.ErrFetch) {
		t.Fatalf("err = %v", err)
	}
	if got := testsupport.VisibleFiles(t, dir); len(got) != 0 {
		t.Errorf("files written after cancel: %v", got)
	}
	checkNoGeneration(t, dir)
}

func TestRunWriteError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d"), []byte("a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeFetcher{values: map[string]string{"ssm:/a": "A"}}
	_, err := engine.Once(context.Background(), testplan.Plan(t, `[{"from": "ssm:/a", "path": "nodir/x"}]`), f, filepath.Join(dir, "d"), opts, quiet())
	if !errors.Is(err, writer.ErrWrite) {
		t.Fatalf("err = %v, want a write error", err)
	}
}

func TestRunECSConfigMerge(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ecs.config"), []byte("ECS_CLUSTER=prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeFetcher{values: map[string]string{"ssm:/reg": `{"username":"u","password":"p"}`}}
	p := testplan.Plan(t, `[{"from": "ssm:/reg", "path": "ecs.config", "format": "ecs-config", "registry": "ghcr.io"}]`)
	if _, err := engine.Once(context.Background(), p, f, dir, opts, quiet()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ecs.config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ECS_CLUSTER=prod\n") || !strings.Contains(string(b), "ECS_ENGINE_AUTH_TYPE=dockercfg") {
		t.Errorf("merged ecs.config lacks a line:\n%s", b)
	}
}

// The fake fetcher is an engine.Fetcher, as *sources.Fetcher is.
var (
	_ engine.Fetcher = (*fakeFetcher)(nil)
	_ engine.Fetcher = (*sources.Fetcher)(nil)
)

// TestFetchKeyFromKnown checks refresh mode's partial fetch: an SSE-C
// object fetched alone takes its key from the values already known.
func TestFetchKeyFromKnown(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 7
	f := &fakeFetcher{values: map[string]string{"s3://b/blob": "blob"}}
	p := testplan.Plan(t, `[{"from": "s3://b/blob", "path": "blob", "sseCustomerKey": "secretsmanager:blob-key"}]`)
	var blob plan.Fetch
	known := sources.Values{}
	for _, pf := range p.Fetches {
		if pf.SSECustomerKey != nil {
			blob = pf
		} else {
			known[pf.Target] = secret.New([]byte(base64.StdEncoding.EncodeToString(key)), secret.Version{})
		}
	}
	if _, err := engine.Fetch(context.Background(), []plan.Fetch{blob}, f, nil); err == nil {
		t.Fatal("no error without the key")
	}
	f.calls = nil
	vals, err := engine.Fetch(context.Background(), []plan.Fetch{blob}, f, known)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 1 || string(vals[blob.Target].Bytes()) != "blob" {
		t.Fatalf("values %v: want only the blob", vals)
	}
	if n := len(f.calls); n != 1 || len(f.calls[0]) != 1 || f.calls[0][0].SSECustomerKey[0] != 7 {
		t.Fatalf("calls %v: want one call, the blob with the known key", f.calls)
	}
}

// manyKeysPlan is a plan of n raw outputs, each one key of one JSON secret,
// and the values it is rendered from.
func manyKeysPlan(t testing.TB, n int) (plan.Plan, sources.Values) {
	t.Helper()
	items := make([]plan.Item, n)
	doc := make(map[string]string, n)
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		doc[k] = "v" + k
		items[i] = plan.Item{From: "secretsmanager:big:" + k + "::", Path: "k/" + k}
	}
	p, err := plan.Build(items)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p, sources.Values{p.Fetches[0].Target: secret.New(body, secret.Version{ID: "1"})}
}

// A render past its deadline stops before its outputs are all rendered,
// with a render error that names the timeout, whatever the formats (not
// only templates check the context).
func TestRenderStopsAtDeadline(t *testing.T) {
	p, values := manyKeysPlan(t, 3)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	files, err := engine.Render(ctx, p, values)
	if !errors.Is(err, engine.ErrRender) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Render past the deadline = %d files, %v; want a render error wrapping the deadline", len(files), err)
	}
	if !strings.Contains(err.Error(), "INJECTOR_TIMEOUT") {
		t.Errorf("error %q does not name INJECTOR_TIMEOUT", err)
	}
}

// Many keys of one secret render in time linear in their number: the
// secret is decoded once per render.
func BenchmarkRenderManyKeys(b *testing.B) {
	p, values := manyKeysPlan(b, 8000)
	for b.Loop() {
		if _, err := engine.Render(context.Background(), p, values); err != nil {
			b.Fatal(err)
		}
	}
}
