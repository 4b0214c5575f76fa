package writer

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// benchFiles returns n small files spread over a few directories, the shape
// of a large injection.
func benchFiles(n int) []File {
	files := make([]File, n)
	for i := range files {
		files[i] = File{
			Path: fmt.Sprintf("app%d/secret-%03d", i%10, i),
			Data: fmt.Appendf(nil, "value-%03d-0123456789abcdef0123456789abcdef", i),
		}
	}
	return files
}

// BenchmarkWrite200New writes 200 small files into a fresh directory: every
// file is synced, and so is each of the 10 directories holding them.
func BenchmarkWrite200New(b *testing.B) {
	files := benchFiles(200)
	opts := Options{Mode: 0o400, UID: -1, GID: -1}
	root := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp(root, "run-")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Write(context.Background(), dir, files, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(files)), "us/file")
}

// BenchmarkWrite200Replace rewrites the same 200 files in place, the path a
// restarted task takes: each existing file is kept as a hard link until all
// are renamed, then removed.
func BenchmarkWrite200Replace(b *testing.B) {
	files := benchFiles(200)
	opts := Options{Mode: 0o600, UID: -1, GID: -1}
	dir := b.TempDir()
	if err := Write(context.Background(), dir, files, opts); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Write(context.Background(), dir, files, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(files)), "us/file")
}
