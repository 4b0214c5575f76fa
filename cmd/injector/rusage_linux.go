package main

import "syscall"

// peakRSSKiB is the process's peak resident set size in KiB, as the kernel
// counts it (getrusage), or -1 if it cannot tell.
func peakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Maxrss // KiB on Linux
}
