package integration_test

// Tests of the output layout: generations made current by renaming ..data,
// under SIGKILL at any instant, concurrent runs, a reader that must never
// see two runs' values, long names, vanished keys, a non-root injector, and
// a copied root.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sys/unix"
)

// keySet is one version of an explode secret: n keys, each value naming the
// version, so a file tells which run wrote it.
type keySet struct {
	version string
	values  map[string]string // key -> value
}

func newKeySet(n int) keySet {
	ks := keySet{version: randHex(8), values: map[string]string{}}
	for i := range n {
		k := fmt.Sprintf("k%04d", i)
		ks.values[k] = fmt.Sprintf("v-%s-%s", ks.version, k)
	}
	return ks
}

func (ks keySet) json(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(ks.values)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// files returns the files the set explodes to under dir.
func (ks keySet) files(dir string) map[string]string {
	m := map[string]string{}
	for k, v := range ks.values {
		m[dir+"/"+k] = v
	}
	return m
}

func putSecretValue(t testing.TB, name, value string) {
	t.Helper()
	if _, err := h.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(value),
	}); err != nil {
		t.Fatal(err)
	}
}

// explodedSet reads the directory name under dir as an application does,
// through the visible name, and returns which of sets it holds, whole: every
// key of that set with its value, and nothing else. The name must resolve
// into exactly one generation.
func explodedSet(dir, name string, sets []keySet) (keySet, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(dir, name))
	if err != nil {
		return keySet{}, err
	}
	rel, err := filepath.Rel(dir, real)
	if gen, _, _ := strings.Cut(rel, "/"); err != nil || !strings.HasPrefix(gen, "..") || rel != gen+"/"+name {
		return keySet{}, fmt.Errorf("%s resolves to %s, not into a generation", name, real)
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		return keySet{}, err
	}
	got := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(real, e.Name()))
		if err != nil {
			return keySet{}, err
		}
		got[e.Name()] = string(b)
	}
	for _, ks := range sets {
		if maps.Equal(got, ks.values) {
			return ks, nil
		}
	}
	versions := map[string]int{}
	for _, v := range got {
		f := strings.Split(v, "-")
		versions[f[min(1, len(f)-1)]]++
	}
	return keySet{}, fmt.Errorf("%s holds %d files that are no run's complete set (files per version: %v)", name, len(got), versions)
}

// allValues returns every value of every set, to look for outside the
// current generation.
func allValues(sets ...keySet) []string {
	var vs []string
	for _, ks := range sets {
		vs = slices.AppendSeq(vs, maps.Values(ks.values))
	}
	return vs
}

// dirEvents watches a directory with inotify for entries created in it or
// renamed into it.
type dirEvents struct {
	f      *os.File
	events chan string // names, in order
}

func watchDir(t *testing.T, dir string) *dirEvents {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	w := &dirEvents{f: os.NewFile(uintptr(fd), "inotify"), events: make(chan string, 4096)}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := w.f.Read(buf)
			if err != nil {
				close(w.events)
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				l := int(uint32(buf[off+12]) | uint32(buf[off+13])<<8 | uint32(buf[off+14])<<16 | uint32(buf[off+15])<<24)
				name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+l], "\x00"))
				select {
				case w.events <- name:
				default: // nobody waits for so many
				}
				off += unix.SizeofInotifyEvent + l
			}
		}
	}()
	t.Cleanup(func() { w.f.Close() })
	return w
}

// drain forgets the events seen so far.
func (w *dirEvents) drain() {
	for {
		select {
		case <-w.events:
		default:
			return
		}
	}
}

// waitFor returns when an entry whose name match accepts appears, or after
// limit (false).
func (w *dirEvents) waitFor(match func(string) bool, limit time.Duration) bool {
	deadline := time.After(limit)
	for {
		select {
		case name := <-w.events:
			if match(name) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// scratchRoot returns an output root on a tmpfs of its own where mounting
// one is permitted, else in the test's temporary directory. What a kill
// leaves does not depend on the file system (readers see the page cache);
// a tmpfs keeps runs of thousands of files fast on a loaded machine.
func scratchRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m,mode=0755", "tmpfs", dir).Run(); err != nil {
		t.Logf("no tmpfs (%v): writing to %s", err, dir)
		return dir
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v: %s", dir, err, bytes.TrimSpace(out))
		}
	})
	return dir
}

func isGeneration(name string) bool {
	return strings.HasPrefix(name, "..") && name != "..data" && name != "..data_tmp" && name != "..lock" && !strings.HasPrefix(name, "..tmp.")
}

// TestLayoutSIGKILL kills the injector with SIGKILL at many instants while
// it replaces a 2,000-key explode set: at random, at the moment the new
// generation is created and a little later (while files are written), when
// ..data_tmp appears (just before the switch), and when ..data is switched
// (the moment a visible file changes) and a little later (while older
// generations are removed). After each kill, before any other run, the
// visible directory resolves into one generation and holds one run's
// complete set; after the next run, the root holds nothing but the current
// generation and the injector's own names, and no value anywhere else.
func TestLayoutSIGKILL(t *testing.T) {
	const keys, kills = 2000, 36 // kills: runs killed before they finished
	name := uniq() + "/big"
	sets := []keySet{newKeySet(keys)}
	putSecret(t, name, sets[0].json(t))
	spec := specJSON(t, map[string]any{"from": "secretsmanager:" + name, "path": "cfg", "format": "explode"})
	dir := scratchRoot(t)
	env := slices.Concat(h.env(h.moto, h.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec})
	complete := func() {
		t.Helper()
		start := time.Now()
		r, err := h.runInjector(env, 2*time.Minute)
		if err != nil || r.code != 0 {
			t.Fatalf("run: %v, exit %d:\n%s", err, r.code, r.output)
		}
		ks, err := explodedSet(dir, "cfg", sets[len(sets)-1:])
		if err != nil {
			t.Fatalf("after a complete run: %v", err)
		}
		if err := layoutErr(dir, allValues(sets...)); err != nil {
			// The current set is in the generation; the check looks
			// for the others' values everywhere else.
			t.Fatalf("after a complete run (version %s, %s): %v", ks.version, time.Since(start), err)
		}
	}
	complete()
	// A run's length, and how long it writes (from creating the generation
	// to the switch), to draw random instants from.
	w := watchDir(t, dir)
	var span, writing time.Duration
	for range 2 {
		w.drain()
		done := make(chan time.Duration)
		go func() {
			w.waitFor(isGeneration, time.Minute)
			created := time.Now()
			w.waitFor(func(n string) bool { return n == "..data" }, time.Minute)
			done <- time.Since(created)
		}()
		start := time.Now()
		complete()
		span = max(span, time.Since(start))
		writing = max(writing, <-done)
	}
	t.Logf("a run takes %s, of which %s from creating the generation to the switch", span, writing)

	kinds := []string{"random", "generation created", "while writing", "..data_tmp created", "..data switched", "after the switch"}
	seen := map[string]int{}
	killed := 0
	for i := 0; killed < kills; i++ {
		if i == 3*kills {
			t.Fatalf("only %d of %d runs were killed before they finished: %v", killed, i, seen)
		}
		kind := kinds[i%len(kinds)]
		next := newKeySet(keys)
		putSecretValue(t, name, next.json(t))
		sets = append(sets, next)
		w.drain()

		cmd := exec.Command(h.bin)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		hit := true
		switch kind {
		case "random":
			time.Sleep(rand.N(span))
		case "generation created":
			hit = w.waitFor(isGeneration, time.Minute)
		case "while writing":
			hit = w.waitFor(isGeneration, time.Minute)
			time.Sleep(rand.N(writing))
		case "..data_tmp created":
			hit = w.waitFor(func(n string) bool { return n == "..data_tmp" }, time.Minute)
		case "..data switched":
			hit = w.waitFor(func(n string) bool { return n == "..data" }, time.Minute)
		case "after the switch":
			hit = w.waitFor(func(n string) bool { return n == "..data" }, time.Minute)
			time.Sleep(rand.N(writing))
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		wasKilled := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
		if !hit {
			t.Fatalf("kill %d (%s): the moment never came:\n%s", i, kind, out.String())
		}
		// Nothing but the file system is looked at before the check.
		got, err := explodedSet(dir, "cfg", sets[len(sets)-2:])
		if err != nil {
			t.Fatalf("kill %d (%s, killed: %v): %v", i, kind, wasKilled, err)
		}
		outcome := "old set"
		if got.version == next.version {
			outcome = "new set"
		}
		if wasKilled {
			killed++
		} else {
			outcome = "finished first"
		}
		seen[kind+": "+outcome]++
		complete()
	}
	t.Logf("kills and what readers saw after them: %v", seen)
}

// TestLayoutReaderNeverMixes: while runs replace a pair of files many times,
// a reader process that resolves ..data once and reads both files under it
// never sees values of two runs. A reader that opens the two visible names
// one after the other may (it is only counted).
func TestLayoutReaderNeverMixes(t *testing.T) {
	const runs = 20
	name := uniq() + "/pair"
	pair := func(v string) string { return fmt.Sprintf(`{"a":"%s-a\n","b":"%s-b\n"}`, v, v) }
	putSecret(t, name, pair("v0"))
	spec := specJSON(t, map[string]any{"from": "secretsmanager:" + name, "path": "pair", "format": "explode"})
	dir := t.TempDir()
	h.injectOK(t, spec, dir)

	stop := filepath.Join(t.TempDir(), "stop")
	// Both readers in one bash loop: "safe" reads under one resolution of
	// ..data, "naive" reads the visible names.
	const reader = `
r=$1 stop=$2 n=0 mixed=0 naive=0 naivemixed=0
while [ ! -e "$stop" ]; do
	if d=$(readlink "$r/..data") && { read -r a < "$r/$d/pair/a" && read -r b < "$r/$d/pair/b"; } 2>/dev/null; then
		n=$((n+1)); [ "${a%-a}" = "${b%-b}" ] || mixed=$((mixed+1))
	fi
	if { read -r a < "$r/pair/a" && read -r b < "$r/pair/b"; } 2>/dev/null; then
		naive=$((naive+1)); [ "${a%-a}" = "${b%-b}" ] || naivemixed=$((naivemixed+1))
	fi
done
echo "$n $mixed $naive $naivemixed"
`
	cmd := exec.Command("bash", "-c", reader, "reader", dir, stop)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= runs; i++ {
		putSecretValue(t, name, pair(fmt.Sprintf("v%d", i)))
		h.injectOK(t, spec, dir)
	}
	plantFile(t, stop, "", 0o644)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reader: %v: %s", err, out.String())
	}
	var n, mixed, naive, naiveMixed int
	if _, err := fmt.Sscan(out.String(), &n, &mixed, &naive, &naiveMixed); err != nil {
		t.Fatalf("reader said %q: %v", out.String(), err)
	}
	t.Logf("reads through one ..data: %d, mixed %d; reads of the visible names: %d, mixed %d", n, mixed, naive, naiveMixed)
	if n == 0 || mixed != 0 {
		t.Fatalf("reader that resolves ..data once: %d reads, %d mixed; want some reads and none mixed", n, mixed)
	}
}

// TestLayoutConcurrentRuns: two injectors write different sets into one
// root at once, many times. Both exit 0, and the root holds one run's
// complete set and nothing left over.
func TestLayoutConcurrentRuns(t *testing.T) {
	const races = 10
	p := uniq()
	a, b := newKeySet(100), newKeySet(100)
	putSecret(t, p+"/a", a.json(t))
	putSecret(t, p+"/b", b.json(t))
	specA := specJSON(t, map[string]any{"from": "secretsmanager:" + p + "/a", "path": "cfg", "format": "explode"},
		item("secretsmanager:"+p+"/a:k0000::", "only-a"))
	specB := specJSON(t, map[string]any{"from": "secretsmanager:" + p + "/b", "path": "cfg", "format": "explode"},
		item("secretsmanager:"+p+"/b:k0000::", "only-b"))
	dir := t.TempDir()
	base := slices.Concat(h.env(h.moto, h.minio), []string{"INJECTOR_DIR=" + dir})
	won := map[string]int{}
	for i := range races {
		var wg sync.WaitGroup
		results := make([]run, 2)
		errs := make([]error, 2)
		for j, spec := range []string{specA, specB} {
			wg.Go(func() {
				results[j], errs[j] = h.runInjector(append(slices.Clone(base), "INJECTOR_SPEC="+spec), 2*time.Minute)
			})
		}
		wg.Wait()
		for j := range results {
			if errs[j] != nil || results[j].code != 0 {
				t.Fatalf("race %d, run %d: %v, exit %d:\n%s", i, j, errs[j], results[j].code, results[j].output)
			}
		}
		ks, err := explodedSet(dir, "cfg", []keySet{a, b})
		if err != nil {
			t.Fatalf("race %d: %v", i, err)
		}
		winner, loser := "a", "b"
		if ks.version == b.version {
			winner, loser = "b", "a"
		}
		won[winner]++
		if got, err := os.ReadFile(filepath.Join(dir, "only-"+winner)); err != nil || string(got) != ks.values["k0000"] {
			t.Errorf("race %d: only-%s does not go with the set of run %s (%v)", i, winner, winner, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "only-"+loser)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("race %d: only-%s, of the run that lost, is still there (%v)", i, loser, err)
		}
		if err := layoutErr(dir, allValues(a, b)); err != nil {
			t.Fatalf("race %d: %v", i, err)
		}
	}
	t.Logf("last switch won by: %v", won)
}

// TestLayoutLongNames: names of exactly 255 bytes, the longest a file
// system takes, as a top-level file, a nested file and an exploded key, and
// replaced by a second run.
func TestLayoutLongNames(t *testing.T) {
	p := uniq()
	long := strings.Repeat("n", 255)
	key := strings.Repeat("k", 255)
	spec := specJSON(t, item("secretsmanager:"+p+"/v", long), item("secretsmanager:"+p+"/v", "d/"+long),
		map[string]any{"from": "secretsmanager:" + p + "/obj", "path": "e", "format": "explode"})
	dir := t.TempDir()
	before := visibleTree(t, dir)
	for i, v := range []string{"first-" + randHex(8), "second-" + randHex(8)} {
		if i == 0 {
			putSecret(t, p+"/v", v)
			putSecret(t, p+"/obj", `{"`+key+`":"`+v+`"}`)
		} else {
			putSecretValue(t, p+"/v", v)
			putSecretValue(t, p+"/obj", `{"`+key+`":"`+v+`"}`)
		}
		h.injectOK(t, spec, dir)
		checkWritten(t, dir, before, visibleTree(t, dir), map[string]string{long: v, "d/" + long: v, "e/" + key: v})
	}
}

// TestLayoutKeysVanish: a 2,000-key explode set, then the secret loses half
// its keys: the removed keys' files vanish, and their values are nowhere
// under the root.
func TestLayoutKeysVanish(t *testing.T) {
	name := uniq() + "/big"
	full := newKeySet(2000)
	half := keySet{version: full.version, values: map[string]string{}}
	var removed []string
	for k, v := range full.values {
		if k < "k1000" {
			half.values[k] = v
		} else {
			removed = append(removed, v)
		}
	}
	putSecret(t, name, full.json(t))
	spec := specJSON(t, map[string]any{"from": "secretsmanager:" + name, "path": "cfg", "format": "explode"})
	dir := scratchRoot(t)
	before := visibleTree(t, dir)
	h.injectOK(t, spec, dir)
	checkWritten(t, dir, before, visibleTree(t, dir), full.files("cfg"))
	putSecretValue(t, name, half.json(t))
	h.injectOK(t, spec, dir)
	checkWritten(t, dir, before, visibleTree(t, dir), half.files("cfg"))
	if err := secretsOutside(dir, "", removed); err != nil {
		t.Error(err)
	}
}

// TestLayoutNonRoot: an injector that is not root replaces, in a root it
// may write, files and directories another user owns (as an earlier
// injector running as root left them, with the per-file scheme's leftovers),
// then its own generation. No hard link is needed.
func TestLayoutNonRoot(t *testing.T) {
	const uid = 65532
	if os.Geteuid() != 0 {
		t.Skip("running the injector as another user needs root (here: uid", os.Geteuid(), ")")
	}
	s := seedValues(t, false)
	// A directory every user can read, with the injector, the CA bundle
	// and the output root (owned by the injector's user).
	base, err := os.MkdirTemp("", "injector-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, ca, dir := filepath.Join(base, "injector"), filepath.Join(base, "ca.crt"), filepath.Join(base, "out")
	for src, dst := range map[string]string{h.bin: bin, h.caFile: ca} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		plantFile(t, dst, string(b), 0o755)
	}
	mkdir(t, dir)
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	// What a root injector with the per-file scheme left: files of root,
	// mode 0400, one in a directory of the injector's user, and a backup.
	plantFile(t, filepath.Join(dir, "sm", "batch"), "older batch\n", 0o400)
	plantFile(t, filepath.Join(dir, "sm", ".batch.old-0123456789abcdef"), s.pinned, 0o400)
	plantFile(t, filepath.Join(dir, "top"), "older top\n", 0o400)
	if err := os.Chown(filepath.Join(dir, "sm"), uid, uid); err != nil {
		t.Fatal(err)
	}

	spec := specJSON(t, s.items[0], item(s.items[2]["from"], "top"))
	env := slices.Concat(h.env(h.moto, h.minio), []string{"HOME=" + base, "AWS_CA_BUNDLE=" + ca, "INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec})
	cred := &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}
	before := visibleTree(t, dir)
	for i := range 2 {
		r, err := runBinaryAs(bin, env, 2*time.Minute, cred)
		if err != nil || r.code != 0 {
			t.Fatalf("run %d as uid %d: %v, exit %d:\n%s", i, uid, err, r.code, redact(r.output, s.secrets))
		}
		assertNoSecret(t, r.output, s.secrets...)
		checkWritten(t, dir, before, visibleTree(t, dir), map[string]string{"sm/batch": s.batch, "top": s.param}, s.pinned)
	}
	for _, p := range []string{"sm/batch", "top"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s owned by uid %d, mode %v; want %d, 0400", p, st.Uid, fi.Mode().Perm(), uid)
		}
	}
}

// TestLayoutCopy: a copy of the root made with cp -a (a volume mounted at
// another path) resolves every visible name inside the copy.
func TestLayoutCopy(t *testing.T) {
	s := seedValues(t, false)
	dir := t.TempDir()
	h.injectOK(t, specJSON(t, s.items...), dir)
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", dir, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	// The original goes, so that nothing can resolve into it.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range s.files {
		real, err := filepath.EvalSymlinks(filepath.Join(cp, p))
		if err != nil || !strings.HasPrefix(real, cp+"/..") {
			t.Errorf("%s resolves to %q (%v), not inside the copy's generation", p, real, err)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(cp, p)); err != nil || string(b) != want {
			t.Errorf("%s in the copy: %d bytes, %v", p, len(b), err)
		}
	}
}

// TestLayoutLockTimeout: while another process holds ..lock, a run waits,
// and when INJECTOR_TIMEOUT ends it fails with exit 5 and a clear message,
// the files as they were.
func TestLayoutLockTimeout(t *testing.T) {
	s := seedValues(t, false)
	spec := specJSON(t, s.items...)
	dir := t.TempDir()
	h.injectOK(t, spec, dir)
	f, err := os.Open(filepath.Join(dir, "..lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	before := visibleTree(t, dir)
	res := h.inject(t, spec, dir, "INJECTOR_TIMEOUT=2s")
	assertNoSecret(t, res.output, s.secrets...)
	if res.code != 5 || !strings.Contains(res.output, "another injector run holds the lock on ..lock") {
		t.Fatalf("exit %d, want 5 saying another run holds the lock:\n%s", res.code, redact(res.output, s.secrets))
	}
	if d := diffSnapshots(before, visibleTree(t, dir)); d != "" {
		t.Errorf("the files changed:\n%s", d)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	h.injectOK(t, spec, dir)
	if err := layoutErr(dir, s.secrets); err != nil {
		t.Error(err)
	}
}
