package writer

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTxn: Begin changes nothing a reader sees and holds the lock (another
// run waits for it); Commit makes the files the set and releases it; Abort
// leaves no generation; a Txn ends once.
func TestTxn(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string // given to Begin
		commit  []File   // nil: abort
		want    map[string]string
		wantErr string
	}{
		{name: "commit", commit: []File{{Path: "a", Data: []byte("2")}, {Path: "d/b", Data: []byte("3")}},
			want: map[string]string{"a": "2", "d/": "", "d/b": "3"}},
		{name: "commit into directories made ahead", paths: []string{"d/b", "d/e/f"},
			commit: []File{{Path: "a", Data: []byte("2")}, {Path: "d/e/f", Data: []byte("3")}},
			want:   map[string]string{"a": "2", "d/": "", "d/e/": "", "d/e/f": "3"}},
		{name: "directories made ahead that no file uses are removed", paths: []string{"x/y/z", "d/b"},
			commit: []File{{Path: "a", Data: []byte("2")}, {Path: "d/c", Data: []byte("3")}},
			want:   map[string]string{"a": "2", "d/": "", "d/c": "3"}},
		{name: "abort", want: map[string]string{"a": "1", "old": "x"}},
		{name: "abort with directories made ahead", paths: []string{"x/y/z"}, want: map[string]string{"a": "1", "old": "x"}},
		{name: "commit refuses a bad path", commit: []File{{Path: "../a", Data: []byte("2")}},
			want: map[string]string{"a": "1", "old": "x"}, wantErr: "not a clean path"},
		{name: "commit refuses a reserved name", commit: []File{{Path: "..data/a", Data: []byte("2")}},
			want: map[string]string{"a": "1", "old": "x"}, wantErr: "belong to the injector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeAll(t, dir, opts0400, "a", "1", "old", "x")
			before := visible(t, dir)
			x, err := Begin(context.Background(), dir, opts0400, tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if got := visible(t, dir); !maps.Equal(got, before) {
				t.Fatalf("after Begin a reader sees %v, want %v", got, before)
			}
			// Another run cannot take the lock while the Txn holds it.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			err = Write(ctx, dir, []File{{Path: "a", Data: []byte("other")}}, opts0400)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a second run during the Txn: %v, want it to wait for the lock", err)
			}
			if tt.commit == nil {
				err = x.Abort()
			} else {
				err = x.Commit(context.Background(), tt.commit)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrWrite)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := visible(t, dir); !maps.Equal(got, tt.want) {
				t.Errorf("a reader sees %v, want %v", got, tt.want)
			}
			checkClean(t, dir)
			// The generation holds what a reader sees and nothing more.
			_, gen := injectorNames(t, dir)
			for p := range tree(t, filepath.Join(dir, gen)) {
				if _, ok := tt.want[p]; !ok {
					t.Errorf("the generation holds %s", p)
				}
			}
			// It ended once: Abort does nothing more, Commit refuses.
			if err := x.Abort(); err != nil {
				t.Errorf("Abort after the end: %v", err)
			}
			if err := x.Commit(context.Background(), []File{{Path: "a", Data: []byte("late")}}); err == nil {
				t.Error("a second Commit succeeded")
			}
			// The lock is free again.
			writeAll(t, dir, opts0400, "a", "4")
			if got := visible(t, dir); got["a"] != "4" {
				t.Errorf("a later run wrote a = %q, want 4", got["a"])
			}
		})
	}
}

// TestBeginRefusesPaths: paths that are not clean and local are refused
// before the root is touched.
func TestBeginRefusesPaths(t *testing.T) {
	for _, p := range []string{"../x", "/abs", "a/../b", ""} {
		dir := t.TempDir()
		if _, err := Begin(context.Background(), dir, opts0400, p); err == nil || !errors.Is(err, ErrWrite) {
			t.Errorf("Begin with %q: %v, want a write error", p, err)
		}
		if names, _ := injectorNames(t, dir); len(names) != 0 {
			t.Errorf("Begin with %q left %v", p, names)
		}
	}
}

// TestBeginFresh: Begin then Abort on an empty root leaves only the lock
// file.
func TestBeginFresh(t *testing.T) {
	dir := t.TempDir()
	x, err := Begin(context.Background(), dir, opts0400)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Abort(); err != nil {
		t.Fatal(err)
	}
	if names, _ := injectorNames(t, dir); !slices.Equal(names, []string{lockName}) {
		t.Errorf("left %v, want only %s", names, lockName)
	}
	if got := visible(t, dir); len(got) != 0 {
		t.Errorf("a reader sees %v", got)
	}
}
