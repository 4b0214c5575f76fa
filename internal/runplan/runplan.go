// Package runplan says what a run of the injector would do, without doing
// any of it: the files it writes and from which references (the plan), and
// the API calls it makes, as the sources plan them: the fetch rounds of a
// run and, in refresh mode, the calls of each check. `injector validate`
// prints it (Write, WriteJSON) and `injector policy` grants its calls
// (internal/iampolicy).
package runplan

import (
	"github.com/ecs-secret-injector/injector/inject"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// Planner plans the calls of a fetch and of a check; *sources.Fetcher is
// one (sources.NewPlanner makes one that cannot call AWS).
type Planner interface {
	PlanFetch(reqs []sources.Request) (sources.Round, error)
	PlanChecks(reqs []sources.Request) (sources.Round, error)
}

// Run is what a run does.
type Run struct {
	Plan plan.Plan
	// Rounds are the fetch rounds of a run (in refresh mode, of its first
	// generation), in order: a second round reads the S3 objects whose
	// SSE-C key the first one fetched (inject.Rounds).
	Rounds []sources.Round
	// Checks are refresh mode's calls each interval, nil in one-shot mode.
	Checks *sources.Round
	// Fixed are the targets that checks leave out: their version cannot
	// change (sources.Fixed).
	Fixed []ref.Target
}

// sseKeyStandIn stands in for an SSE-C key in planned requests: planning
// needs to know that a key is sent, not the key, and never sends it.
var sseKeyStandIn = make([]byte, 32)

// request is the request a run makes for pf, as far as planning sees it.
func request(pf plan.Fetch) sources.Request {
	var key []byte
	if pf.SSECustomerKey != nil {
		key = sseKeyStandIn
	}
	return inject.NewRequest(pf, key)
}

func requests(fetches []plan.Fetch) []sources.Request {
	reqs := make([]sources.Request, len(fetches))
	for i, pf := range fetches {
		reqs[i] = request(pf)
	}
	return reqs
}

// New plans the calls of p, in refresh mode with refresh set. Its error is
// the one a run would stop at before its first call.
func New(p plan.Plan, f Planner, refresh bool) (Run, error) {
	run := Run{Plan: p}
	first, second := inject.Rounds(p.Fetches)
	for _, round := range [][]plan.Fetch{first, second} {
		if len(round) == 0 {
			continue
		}
		r, err := f.PlanFetch(requests(round))
		if err != nil {
			return Run{}, err
		}
		run.Rounds = append(run.Rounds, r)
	}
	if refresh {
		checks, err := f.PlanChecks(requests(p.Fetches))
		if err != nil {
			return Run{}, err
		}
		run.Checks = &checks
		for _, pf := range p.Fetches {
			if sources.Fixed(pf.Target) {
				run.Fixed = append(run.Fixed, pf.Target)
			}
		}
	}
	return run, nil
}

// Calls lists every call of the run: the fetch rounds, then the checks.
func (r Run) Calls() []sources.Call {
	var calls []sources.Call
	for _, round := range r.Rounds {
		calls = append(calls, round.Calls...)
	}
	if r.Checks != nil {
		calls = append(calls, r.Checks.Calls...)
	}
	return calls
}
