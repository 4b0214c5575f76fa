package engine

import (
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// Describing a run: what it would do, without doing any of it: the files
// it writes and from which references (the plan), and the API calls it
// makes, as the sources plan them: the calls of each fetch round and, in
// refresh mode, of each check. `injector validate` prints it and
// `injector policy` grants its calls (internal/iampolicy).

// Planner plans the calls of a fetch and of a check; *sources.Fetcher is
// one (sources.NewPlanner makes one that cannot call AWS).
type Planner interface {
	PlanFetch(reqs []sources.Request) (sources.CallSet, error)
	PlanChecks(reqs []sources.Request) (sources.CallSet, error)
}

// Description is what a run does.
type Description struct {
	Plan plan.Plan
	// Rounds are the calls of each fetch round of a run (in refresh mode,
	// of its first generation), in order: a second round reads the S3
	// objects whose SSE-C key the first one fetched.
	Rounds []sources.CallSet
	// Checks are refresh mode's calls each interval, nil in one-shot mode.
	Checks *sources.CallSet
	// Fixed are the targets that checks leave out: their version cannot
	// change (sources.Fixed).
	Fixed []ref.Target
}

// sseKeyStandIn stands in for an SSE-C key in planned requests: planning
// needs to know that a key is sent, not the key, and never sends it.
var sseKeyStandIn = make([]byte, 32)

// standInKey gives every SSE-C reference the stand-in key.
func standInKey(ref.Ref) ([]byte, error) { return sseKeyStandIn, nil }

// Describe plans the calls of p, in refresh mode with refresh set. Its
// error is the one a run would stop at before its first call.
func Describe(p plan.Plan, f Planner, refresh bool) (Description, error) {
	d := Description{Plan: p}
	first, second := rounds(p.Fetches)
	for _, round := range [][]plan.Fetch{first, second} {
		if len(round) == 0 {
			continue
		}
		reqs, _ := requests(round, standInKey) // the stand-in never fails
		calls, err := f.PlanFetch(reqs)
		if err != nil {
			return Description{}, err
		}
		d.Rounds = append(d.Rounds, calls)
	}
	if refresh {
		reqs, _ := requests(p.Fetches, standInKey)
		checks, err := f.PlanChecks(reqs)
		if err != nil {
			return Description{}, err
		}
		d.Checks = &checks
		for _, pf := range p.Fetches {
			if sources.Fixed(pf.Target) {
				d.Fixed = append(d.Fixed, pf.Target)
			}
		}
	}
	return d, nil
}

// Calls lists every call of the run: the fetch rounds, then the checks.
func (d Description) Calls() []sources.Call {
	var calls []sources.Call
	for _, round := range d.Rounds {
		calls = append(calls, round.Calls...)
	}
	if d.Checks != nil {
		calls = append(calls, d.Checks.Calls...)
	}
	return calls
}
