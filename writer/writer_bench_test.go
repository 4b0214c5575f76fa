package writer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// switchTimer sums, over a benchmark's iterations, the time from the start
// of a write to the switch of ..data: how long until the new set is what
// readers see (the rest removes what it replaced).
type switchTimer struct {
	start time.Time
	sum   time.Duration
}

func (s *switchTimer) write(b *testing.B, dir string, files []File, opts Options) {
	s.start = time.Now()
	if err := write(context.Background(), dir, files, opts, testHooks{switched: func() { s.sum += time.Since(s.start) }}); err != nil {
		b.Fatal(err)
	}
}

func (s *switchTimer) report(b *testing.B) {
	b.ReportMetric(float64(s.sum.Microseconds())/1e3/float64(b.N), "ms-to-switch/op")
}

// syncFS commits the file system's journal outside the timer: a run starts
// long after the previous one, whose removals the journal committed within
// its commit interval (with online discard, a commit right after them
// would also wait for the disk to discard the freed blocks).
func syncFS(b *testing.B, dir string) {
	b.StopTimer()
	defer b.StartTimer()
	f, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		b.Fatal(err)
	}
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
			var st switchTimer
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp(parent, "run-")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				st.write(b, dir, files, opts)
				b.StopTimer()
				if err := os.RemoveAll(dir); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				syncFS(b, parent)
			}
			st.report(b)
		})
		b.Run(fsName+"/replace", func(b *testing.B) {
			dir, err := os.MkdirTemp(parent, "run-")
			if err != nil {
				b.Fatal(err)
			}
			if err := Write(context.Background(), dir, files, opts); err != nil {
				b.Fatal(err)
			}
			var st switchTimer
			for b.Loop() {
				syncFS(b, dir)
				st.write(b, dir, files, opts)
			}
			st.report(b)
		})
	}
}
