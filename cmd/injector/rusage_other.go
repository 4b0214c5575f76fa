//go:build !linux

package main

// peakRSSKiB is not measured outside Linux.
func peakRSSKiB() int64 { return -1 }
