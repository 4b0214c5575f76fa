package engine

import (
	"testing"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
)

// planRecorder is a Planner that records the requests it is asked to plan.
type planRecorder struct{ fetch, checks []sources.Request }

func (r *planRecorder) PlanFetch(reqs []sources.Request) (sources.CallSet, error) {
	r.fetch = append(r.fetch, reqs...)
	return sources.CallSet{}, nil
}

func (r *planRecorder) PlanChecks(reqs []sources.Request) (sources.CallSet, error) {
	r.checks = append(r.checks, reqs...)
	return sources.CallSet{}, nil
}

// TestRequestsKeepAllowEmpty checks that a path item with allowEmpty keeps
// it in the requests planned for the fetch and for the checks, as a run
// makes them.
func TestRequestsKeepAllowEmpty(t *testing.T) {
	p, err := plan.Build([]plan.Item{{From: "ssm:/app/none/", Path: "none.json", AllowEmpty: true}})
	if err != nil {
		t.Fatal(err)
	}
	var rec planRecorder
	if _, err := Describe(p, &rec, true); err != nil {
		t.Fatal(err)
	}
	if len(rec.fetch) != 1 || len(rec.checks) != 1 {
		t.Fatalf("fetch %+v, checks %+v; want one request each", rec.fetch, rec.checks)
	}
	if !rec.fetch[0].AllowEmpty || !rec.checks[0].AllowEmpty {
		t.Errorf("AllowEmpty: fetch %v, checks %v; want true", rec.fetch[0].AllowEmpty, rec.checks[0].AllowEmpty)
	}
}
