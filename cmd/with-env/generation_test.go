package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// generationFiles are the files of generation n: two files whose values
// say n, one in a subdirectory.
func generationFiles(t testing.TB, n int) map[string][]byte {
	v := strconv.Itoa(n)
	return map[string][]byte{
		"a.env":     renderDotenv(t, map[string]string{"GEN_A": v, "PAD": fmt.Sprintf("%0*d", 4096, n)}),
		"sub/b.env": renderDotenv(t, map[string]string{"GEN_B": v}),
	}
}

// TestReadAgainAfterSwitch: when the generation is replaced (and the one
// ..data named removed) after the helper resolved ..data, it reads every
// file again from the new generation, never a mix.
func TestReadAgainAfterSwitch(t *testing.T) {
	root := writeRoot(t, generationFiles(t, 1))
	var files []*envFile
	for _, name := range []string{"a.env", "sub/b.env"} {
		f, err := locate(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	calls := 0
	err := readGeneration(root, files, func() {
		calls++
		if calls == 1 {
			rewrite(t, root, generationFiles(t, 2))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("..data resolved %d times, want 2", calls)
	}
	want := generationFiles(t, 2)
	for _, f := range files {
		if string(f.data) != string(want[f.rel]) {
			t.Errorf("%s: read %q, want generation 2's", f.rel, f.data)
		}
	}
}

// TestConsistentWhileRefreshing: while the writer switches generations as
// fast as it can, every start of the app through the helper sees both
// files of one generation.
func TestConsistentWhileRefreshing(t *testing.T) {
	root := writeRoot(t, generationFiles(t, 0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written int
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				written = n
				return
			default:
			}
			if err := writeFiles(root, generationFiles(t, n)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	seen := map[string]bool{}
	for range 100 {
		r := runHelper(t, baseEnv("env"), "--env-file", filepath.Join(root, "a.env"), "--env-file", filepath.Join(root, "sub", "b.env"), selfBin(t))
		if r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
			continue
		}
		env := parseEnv(t, r.stdout)
		if env["GEN_A"] == "" || env["GEN_A"] != env["GEN_B"] {
			t.Errorf("app saw GEN_A=%q GEN_B=%q: a mix of generations", env["GEN_A"], env["GEN_B"])
		}
		seen[env["GEN_A"]] = true
	}
	close(stop)
	wg.Wait()
	t.Logf("%d generations written, %d distinct ones seen by 100 starts", written, len(seen))
}
