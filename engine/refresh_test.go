package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

const twoSpec = `[{"from": "secretsmanager:db", "path": "db"}, {"from": "ssm:/api", "path": "api"}, {"from": "secretsmanager:db", "path": "db.env", "format": "dotenv"}]`

func twoSource() *fakeSource {
	s := newSource()
	s.set("secretsmanager:db", `{"user":"u1","pass":"p1"}`)
	s.set("ssm:/api", "api-1")
	return s
}

// inode identifies the file a visible name resolves to.
func inode(t *testing.T, dir, name string) uint64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func published(t *testing.T, spec string, src *fakeSource, notifiers ...notify.Notifier) (*Refresher, string) {
	t.Helper()
	dir := t.TempDir()
	r := NewRefresher(testplan.Plan(t, spec), src, testOptions(dir, notifiers...))
	if err := r.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestPublishWritesFilesAndStatus(t *testing.T) {
	src := twoSource()
	_, dir := published(t, twoSpec, src)
	if got := readFile(t, dir, "api"); got != "api-1" {
		t.Errorf("api = %q", got)
	}
	st, err := status.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Generation != 1 || st.Items != 2 || st.Files != 3 || st.LastCheck.IsZero() || st.PID != os.Getpid() ||
		time.Duration(st.MaxStaleness) != 3*time.Second || time.Duration(st.Interval) != time.Second {
		t.Errorf("status %+v", st)
	}
	if err := st.Healthy(time.Now()); err != nil {
		t.Errorf("not healthy after the first generation: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, status.File))
	for _, v := range []string{"p1", "api-1"} {
		if strings.Contains(string(data), v) {
			t.Errorf("status file holds a value: %s", data)
		}
	}
}

// TestNoChangeNoFetchNoWrite checks the steady state: checks only, no
// fetch, the files untouched, no notification.
func TestNoChangeNoFetchNoWrite(t *testing.T) {
	src := twoSource()
	rec := &recorder{}
	r, dir := published(t, twoSpec, src, rec)
	before := inode(t, dir, "db")
	for range 5 {
		if err := r.cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	fetches, checks := src.calls()
	if fetches != 1 || checks != 5 {
		t.Errorf("%d fetches and %d checks, want 1 (the first generation) and 5", fetches, checks)
	}
	if inode(t, dir, "db") != before {
		t.Error("db was rewritten")
	}
	if r.status.Generation != 1 || r.status.Checks != 5 || r.couriers[0].pending() {
		t.Errorf("generation %d, checks %d, notification pending %v", r.status.Generation, r.status.Checks, r.couriers[0].pending())
	}
}

// TestAllowEmptyKept checks that a path item with allowEmpty keeps it in
// the requests of the first generation's fetch and of every check.
func TestAllowEmptyKept(t *testing.T) {
	src := newSource()
	src.set("ssm:/app/none/", "{}")
	r, _ := published(t, `[{"from": "ssm:/app/none/", "path": "none.json", "allowEmpty": true}]`, src)
	if err := r.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.fetched) != 1 || len(src.checked) != 1 {
		t.Fatalf("fetched %+v, checked %+v; want one request each", src.fetched, src.checked)
	}
	if !src.fetched[0].AllowEmpty || !src.checked[0].AllowEmpty {
		t.Errorf("AllowEmpty: fetched %v, checked %v; want true", src.fetched[0].AllowEmpty, src.checked[0].AllowEmpty)
	}
}

// TestRotationFetchesOnlyWhatChanged checks that a rotation fetches the one
// changed value, rewrites the files from it and keeps the other files'
// bytes, and posts one event naming the changed paths.
func TestRotationFetchesOnlyWhatChanged(t *testing.T) {
	src := twoSource()
	rec := &recorder{}
	r, dir := published(t, twoSpec, src, rec)
	src.fetched = nil
	src.set("secretsmanager:db", `{"user":"u1","pass":"p2"}`)
	if err := r.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.fetched) != 1 || src.fetched[0].Target != testplan.Target(t, "secretsmanager:db") {
		t.Errorf("fetched %v, want only the secret", src.fetched)
	}
	if got := readFile(t, dir, "db.env"); got != "pass='p2'\nuser='u1'\n" {
		t.Errorf("db.env = %q", got)
	}
	if got := readFile(t, dir, "api"); got != "api-1" {
		t.Errorf("api = %q", got)
	}
	if r.status.Generation != 2 || r.status.Changes != 1 {
		t.Errorf("status %+v", r.status)
	}
	ev := <-r.couriers[0].next
	if ev.Generation != 2 || !slices.Equal(ev.Changed, []string{"db", "db.env"}) {
		t.Errorf("event %+v", ev)
	}
	st, err := status.Read(dir)
	if err != nil || st.Generation != 2 {
		t.Errorf("status file %+v, %v", st, err)
	}
}

// TestNewVersionSameBytes: a new version with the same value publishes
// nothing and is not fetched again.
func TestNewVersionSameBytes(t *testing.T) {
	src := twoSource()
	r, dir := published(t, twoSpec, src, &recorder{})
	before := inode(t, dir, "api")
	src.set("ssm:/api", "api-1")
	for range 2 {
		if err := r.cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if fetches, _ := src.calls(); fetches != 2 {
		t.Errorf("%d fetches, want 2 (first generation, the new version once)", fetches)
	}
	if inode(t, dir, "api") != before || r.status.Generation != 1 || r.couriers[0].pending() {
		t.Errorf("published for an unchanged value: generation %d", r.status.Generation)
	}
}

// TestFailuresKeepFiles checks that check, fetch and render failures leave
// the last good files, count as failed checks, and that the next good
// check publishes.
func TestFailuresKeepFiles(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(s *fakeSource)
		fixIt   func(s *fakeSource)
		wantErr error
	}{
		{"check throttled", func(s *fakeSource) {
			s.checkErr = func(t0 ref.Target) error { return errors.New("ThrottlingException: Rate exceeded") }
		}, func(s *fakeSource) { s.checkErr = nil }, sources.ErrFetch},
		{"fetch denied", func(s *fakeSource) { s.fetchErr = errors.New("AccessDeniedException") },
			func(s *fakeSource) { s.fetchErr = nil }, sources.ErrFetch},
		{"value no longer a JSON object", func(s *fakeSource) { s.set("secretsmanager:db", "not json") },
			func(s *fakeSource) { s.set("secretsmanager:db", `{"user":"u3","pass":"p3"}`) }, ErrRender},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := twoSource()
			r, dir := published(t, twoSpec, src, &recorder{})
			good := r.status.LastCheck
			src.set("secretsmanager:db", `{"user":"u3","pass":"p3"}`)
			tc.breakIt(src)
			for i := range 3 {
				err := r.cycle(context.Background())
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("cycle %d: err %v, want %v", i, err, tc.wantErr)
				}
			}
			if got := readFile(t, dir, "db.env"); got != "pass='p1'\nuser='u1'\n" {
				t.Errorf("db.env = %q, want the last good value", got)
			}
			st, err := status.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Generation != 1 || st.Failures != 3 || st.ConsecutiveFailures != 3 || !st.LastCheck.Equal(good) {
				t.Errorf("status %+v", st)
			}
			if err := st.Healthy(good.Add(3*time.Second + time.Millisecond)); err == nil {
				t.Error("healthy after the staleness limit without a good check")
			}
			tc.fixIt(src)
			if err := r.cycle(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, dir, "db.env"); got != "pass='p3'\nuser='u3'\n" {
				t.Errorf("db.env = %q after recovery", got)
			}
			if st, _ := status.Read(dir); st.ConsecutiveFailures != 0 || st.Generation != 2 || !st.LastCheck.After(good) {
				t.Errorf("status after recovery %+v", st)
			}
		})
	}
}

// TestPartialCheckFailure: a change found is published even though another
// item's check failed; the check still counts as failed.
func TestPartialCheckFailure(t *testing.T) {
	src := twoSource()
	r, dir := published(t, twoSpec, src, &recorder{})
	api := testplan.Target(t, "ssm:/api")
	src.checkErr = func(t0 ref.Target) error {
		if t0 == api {
			return errors.New("InternalServerError")
		}
		return nil
	}
	src.set("secretsmanager:db", `{"user":"u2","pass":"p2"}`)
	err := r.cycle(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ssm:/api") {
		t.Fatalf("err %v, want the failed reference named", err)
	}
	if got := readFile(t, dir, "db"); !strings.Contains(got, "p2") || r.status.Generation != 2 || r.status.ConsecutiveFailures != 1 {
		t.Errorf("db = %d bytes, status %+v", len(got), r.status)
	}
}

// TestSSECKeyRotation: when the key of an SSE-C object changes, the object
// is fetched again with the new key, and checked with it.
func TestSSECKeyRotation(t *testing.T) {
	spec := `[{"from": "s3://b/blob", "path": "blob", "sseCustomerKey": "secretsmanager:key"}]`
	src := newSource()
	key1 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	key2 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("2", 32)))
	src.set("secretsmanager:key", key1)
	src.set("s3://b/blob", "blob")
	r, dir := published(t, spec, src)
	src.fetched = nil
	src.set("secretsmanager:key", key2)
	src.set("s3://b/blob", "blob2")
	if err := r.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.fetched) != 2 || src.fetched[1].Target != testplan.Target(t, "s3://b/blob") || src.fetched[1].SSECustomerKey[0] != '2' {
		t.Fatalf("fetched %v, want the key, then the object with the new key", src.fetched)
	}
	if got := readFile(t, dir, "blob"); got != "blob2" {
		t.Errorf("blob = %q", got)
	}
}

// TestRunRotatesAndStops drives the loop itself with a short interval: a
// rotation reaches the files, cancelling stops it promptly with the files
// in place, even in the middle of a check.
func TestRunRotatesAndStops(t *testing.T) {
	src := twoSource()
	rec := &recorder{got: make(chan notify.Event, 10)}
	dir := t.TempDir()
	opts := testOptions(dir, rec)
	opts.Interval = 20 * time.Millisecond
	r := NewRefresher(testplan.Plan(t, twoSpec), src, opts)
	if err := r.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	src.set("ssm:/api", "api-2")
	select {
	case ev := <-rec.got:
		if got := readFile(t, dir, "api"); got != "api-2" || ev.Generation != 2 {
			t.Errorf("notified generation %d with api = %q", ev.Generation, got)
		}
	case <-time.After(time.Minute):
		t.Fatal("no notification within a minute")
	}
	src.mu.Lock()
	src.block = make(chan struct{}) // the next check hangs until cancelled
	n := src.checks
	src.mu.Unlock()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if _, checks := src.calls(); checks > n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no check within a minute")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	if got := readFile(t, dir, "api"); got != "api-2" {
		t.Errorf("api = %q after stop", got)
	}
	if evs := rec.delivered(); len(evs) != 1 {
		t.Errorf("%d notifications for one change", len(evs))
	}
}

func TestWait(t *testing.T) {
	r := NewRefresher(testplan.Plan(t, twoSpec), newSource(), RefreshOptions{Interval: time.Minute})
	for range 200 {
		if d := r.wait(0); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("wait %v: want the interval ±10%%", d)
		}
	}
	for n, want := range map[int64]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 80: time.Minute} {
		if d := r.wait(n); d < want*9/10 || d > want*11/10 {
			t.Errorf("wait after %d failures %v, want %v ±10%%", n, d, want)
		}
	}
}

func TestChangedPaths(t *testing.T) {
	old := []writer.File{{Path: "a", Data: []byte("1")}, {Path: "b", Data: []byte("2")}, {Path: "gone", Data: nil}}
	cur := []writer.File{{Path: "a", Data: []byte("1")}, {Path: "b", Data: []byte("3")}, {Path: "new", Data: nil}}
	if got := changedPaths(old, cur); !slices.Equal(got, []string{"b", "gone", "new"}) {
		t.Errorf("changed %v", got)
	}
	if got := changedPaths(old, old); len(got) != 0 {
		t.Errorf("changed %v for the same files", got)
	}
}

// runNow starts Run with an interval no test waits for and a Now channel
// the way the injector feeds it (room for one, sends that never block).
func runNow(t *testing.T, src *fakeSource) (ask func(), dir string) {
	t.Helper()
	dir = t.TempDir()
	opts := testOptions(dir)
	opts.Interval = time.Hour
	opts.MaxStaleness = 2 * time.Hour
	now := make(chan struct{}, 1)
	opts.Now = now
	r := NewRefresher(testplan.Plan(t, twoSpec), src, opts)
	if err := r.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return func() {
		select {
		case now <- struct{}{}:
		default:
		}
	}, dir
}

// waitChecks waits until the source has seen n checks.
func waitChecks(t *testing.T, src *fakeSource, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if _, checks := src.calls(); checks >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d checks within a minute", n)
		}
	}
}

// TestRunNow: a check asked for on Options.Now starts at once, long before
// the interval, and publishes a rotation; asks during a check make one
// more check after it, not one each.
func TestRunNow(t *testing.T) {
	src := twoSource()
	ask, dir := runNow(t, src)
	src.set("ssm:/api", "api-2")
	ask()
	waitChecks(t, src, 1)
	for deadline := time.Now().Add(time.Minute); readFile(t, dir, "api") != "api-2"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the asked-for check did not publish the rotation")
		}
	}

	src.mu.Lock()
	release := make(chan struct{})
	src.block = release // the next check waits
	src.mu.Unlock()
	ask()
	waitChecks(t, src, 2)
	for range 10 {
		ask()
	}
	src.mu.Lock()
	src.block = nil
	src.mu.Unlock()
	close(release)
	waitChecks(t, src, 3)
	// Another would start within NowGap of the third.
	time.Sleep(NowGap * 3 / 2)
	if _, checks := src.calls(); checks != 3 {
		t.Errorf("%d checks, want 3: ten asks during a check make one more", checks)
	}
}

// TestRunNowRateLimited: a burst of asks makes at most one check a NowGap,
// plus the one after it for the asks that came during the last.
func TestRunNowRateLimited(t *testing.T) {
	src := twoSource()
	ask, _ := runNow(t, src)
	start := time.Now()
	for range 100 {
		ask()
	}
	took := time.Since(start)
	waitChecks(t, src, 1)
	// Any further check would start within NowGap of the one before.
	time.Sleep(NowGap * 5 / 2)
	_, checks := src.calls()
	limit := 2 + int(took/NowGap)
	t.Logf("100 asks in %s made %d checks", took, checks)
	if checks > limit {
		t.Errorf("100 asks in %s made %d checks, want at most %d", took, checks, limit)
	}
}

// TestPublishStatusNameTaken: a directory at the status file's name makes
// Publish fail after the switch with a write error that says the new files
// are visible; they are, complete, and the directory is left alone.
func TestPublishStatusNameTaken(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, status.File, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewRefresher(testplan.Plan(t, twoSpec), twoSource(), testOptions(dir))
	err := r.Publish(context.Background())
	if !errors.Is(err, writer.ErrWrite) || !strings.Contains(err.Error(), "the new files are visible, but") ||
		!strings.Contains(err.Error(), status.File) {
		t.Fatalf("Publish = %v, want a write error saying the new files are visible and naming %s", err, status.File)
	}
	for _, v := range []string{"p1", "api-1", "u1"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("the error holds a value: %v", err)
		}
	}
	if got := readFile(t, dir, "api"); got != "api-1" {
		t.Errorf("api = %q, want the new file visible", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, status.File, "inside")); err != nil || !fi.IsDir() {
		t.Errorf("the directory at %s was touched: %v", status.File, err)
	}
	names, _, _ := testsupport.InjectorNames(dir)
	for _, n := range names {
		if strings.HasPrefix(n, "..tmp.") {
			t.Errorf("a temporary was left: %s", n)
		}
	}
}
