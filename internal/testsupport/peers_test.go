package testsupport

import (
	"errors"
	"fmt"
	"testing"
)

// endTB records how a test would have ended: the first Skip or Fatalf.
type endTB struct {
	testing.TB
	how string
}

func (e *endTB) Helper() {}

func (e *endTB) Skip(args ...any) {
	if e.how == "" {
		e.how = "skip: " + fmt.Sprint(args...)
	}
}

func (e *endTB) Fatalf(format string, args ...any) {
	if e.how == "" {
		e.how = "fail: " + fmt.Sprintf(format, args...)
	}
}

// TestMissing: a missing peer skips, unless RequireEnv=1 makes it a failure.
func TestMissing(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", "skip: moto_server not found"},
		{"0", "skip: moto_server not found"},
		{"1", "fail: moto_server not found, and INJECTOR_REQUIRE_INTEGRATION=1"},
	} {
		t.Setenv(RequireEnv, tc.env)
		e := &endTB{TB: t}
		Missing(e, errors.New("moto_server not found"))
		if e.how != tc.want {
			t.Errorf("%s=%q: %q, want %q", RequireEnv, tc.env, e.how, tc.want)
		}
	}
}
