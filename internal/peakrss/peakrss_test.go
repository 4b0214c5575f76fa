package peakrss

import (
	"runtime"
	"testing"
)

func TestKiB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before := KiB()
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after := KiB()
	runtime.KeepAlive(buf)
	if before <= 0 || after < before+60<<10 {
		t.Fatalf("peak RSS %d KiB, then %d KiB after touching 64 MiB", before, after)
	}
}
