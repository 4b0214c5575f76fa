// Package testplan turns a spec into a plan, and a reference into its
// target, for tests, as the injector does before any call. It is apart from testsupport so that the packages plan
// depends on can use testsupport in their own tests.
package testplan

import (
	"testing"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
)

// Build parses and plans spec (the JSON of INJECTOR_SPEC) as the
// injector does before any call.
func Build(spec string) (plan.Plan, error) {
	items, err := plan.ParseSpec([]byte(spec))
	if err != nil {
		return plan.Plan{}, err
	}
	return plan.Build(items)
}

// Plan is Build, failing tb on an error.
func Plan(tb testing.TB, spec string) plan.Plan {
	tb.Helper()
	p, err := Build(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Target parses the reference s and returns its target, failing tb on an
// error.
func Target(tb testing.TB, s string) ref.Target {
	tb.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Target
}
