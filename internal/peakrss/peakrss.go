// Package peakrss tells a process its own peak resident set size, for the
// benchmarks to report.
package peakrss

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// KiB returns the process's peak RSS in KiB, or -1 if it cannot tell.
//
// It reads VmHWM from /proc/self/status, the high-water mark of this
// program's own address space. getrusage's ru_maxrss is not used: it keeps
// the largest RSS across execve, and Go's os/exec (and runc) start a child
// with vfork, which borrows the parent's address space, so a small program
// started by a large one reports the parent's RSS.
func KiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "12345", "kB"
		if len(f) == 2 && string(f[1]) == "kB" {
			if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
