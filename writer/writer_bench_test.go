package writer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
)

// benchFiles returns n files of 1 KiB spread over a few directories, the
// shape of a large injection.
func benchFiles(n int) []File {
	files := make([]File, n)
	for i := range files {
		files[i] = File{
			Path: fmt.Sprintf("app%d/secret-%03d", i%10, i),
			Data: bytes.Repeat(fmt.Appendf(nil, "value-%03d-", i), 1024/10+1)[:1024],
		}
	}
	return files
}

// benchFileSystems are where the write phase is measured: the test's
// temporary directory (ext4 on the developers' machines and CI) and
// /dev/shm (tmpfs), as an ECS volume may be either.
func benchFileSystems(b *testing.B) map[string]string {
	dirs := map[string]string{"tmpdir": b.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "writer-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(shm) })
		dirs["shm"] = shm
	}
	return dirs
}

// BenchmarkWrite200 is the write phase of an injection of 200 files of
// 1 KiB: into an empty root (a task's first start) and over the set an
// earlier run left (a restarted task). Each iteration writes and syncs a
// whole generation, switches ..data and removes the older generation.
func BenchmarkWrite200(b *testing.B) {
	files := benchFiles(200)
	opts := Options{Mode: 0o400, UID: -1, GID: -1}
	for fsName, parent := range benchFileSystems(b) {
		b.Run(fsName+"/new", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp(parent, "run-")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := Write(context.Background(), dir, files, opts); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.RemoveAll(dir); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run(fsName+"/replace", func(b *testing.B) {
			dir, err := os.MkdirTemp(parent, "run-")
			if err != nil {
				b.Fatal(err)
			}
			if err := Write(context.Background(), dir, files, opts); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := Write(context.Background(), dir, files, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
