package main

import (
	"runtime/debug"
	"testing"
)

// A one-shot run raises the collector's target, unless GOGC says what it
// should be.
func TestOneShotGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		name string
		gogc string
		set  bool
		want int
	}{
		{"unset", "", false, oneShotGCPercent},
		{"set", "50", true, 100},
		{"set empty", "", true, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			oneShotGC(func(string) (string, bool) { return tc.gogc, tc.set })
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Fatalf("GOGC %d, want %d", got, tc.want)
			}
		})
	}
}
