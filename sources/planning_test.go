package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/ref"
)

// plannedCalls renders planned calls as the fake records calls ("region
// Operation", a GetParameters without decryption as
// GetParametersNoDecryption), sorted; reads that call no API are left out.
func plannedCalls(r CallSet) []string {
	var out []string
	for _, c := range r.Calls {
		if c.Service == "" {
			continue
		}
		op := c.Operation
		if op == opGetParameters && !c.KMS {
			op = "GetParametersNoDecryption"
		}
		out = append(out, c.Region+" "+op)
	}
	slices.Sort(out)
	return out
}

// sortedCalls is what the fake recorded, sorted, with the pages of the one
// path the tests read counted once: a planned call follows every page.
func sortedCalls(f *fakeAWS) []string {
	var out []string
	seen := false
	for _, c := range f.callList() {
		if strings.HasSuffix(c, " "+opGetParametersByPath) {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// TestPlanIsWhatRuns: what PlanFetch and PlanChecks say equals the calls
// Fetch and Versions then make, call for call, under each batching mode.
func TestPlanIsWhatRuns(t *testing.T) {
	f := newFake()
	var refs []string
	for i := range 25 {
		f.addSecret(fmt.Sprintf("s%02d", i), "v")
		refs = append(refs, fmt.Sprintf("secretsmanager:s%02d", i))
	}
	refs = append(refs, "secretsmanager:s00:::v-s00", "secretsmanager:s01::AWSCURRENT:")
	for i := range 13 {
		f.addParam(fmt.Sprintf("/p/%02d", i), "v", 1)
		refs = append(refs, fmt.Sprintf("ssm:/p/%02d", i))
	}
	refs = append(refs, "ssm:/p/")
	f.addObject("b", "k", "v", true)
	f.addObject("b", "eu", "v", true)
	refs = append(refs, "s3://b/k", "s3://b/eu?region=eu-west-1", "env:E")
	for _, batch := range []Batching{BatchAuto, BatchAlways, BatchNever} {
		for _, conc := range []int{4, 64} {
			t.Run(fmt.Sprintf("%s/%d", batch, conc), func(t *testing.T) {
				reqs := requests(t, refs...)
				fe := newFetcher(f, "us-east-1", Options{Concurrency: conc, Batch: batch, LookupEnv: environ(map[string]string{"E": "x"})})
				planned, err := fe.PlanFetch(reqs)
				if err != nil {
					t.Fatal(err)
				}
				f.calls = nil
				if _, err := fe.Fetch(context.Background(), reqs); err != nil {
					t.Fatal(err)
				}
				if got, want := plannedCalls(planned), sortedCalls(f); !slices.Equal(got, want) {
					t.Errorf("PlanFetch:\n%v\nFetch made:\n%v", got, want)
				}
				wantBatched := batch == BatchAlways || batch == BatchAuto && conc == 4
				if planned.Batched != wantBatched {
					t.Errorf("Batched = %v, want %v", planned.Batched, wantBatched)
				}
				// 27 secrets, 2 calls of parameters, 1 path, 2 objects;
				// env: is no API call.
				if planned.Unbatched != 32 {
					t.Errorf("Unbatched = %d, want 32", planned.Unbatched)
				}

				checks, err := fe.PlanChecks(reqs)
				if err != nil {
					t.Fatal(err)
				}
				f.calls = nil
				if _, err := fe.Versions(context.Background(), reqs); err != nil {
					t.Fatal(err)
				}
				if got, want := plannedCalls(checks), sortedCalls(f); !slices.Equal(got, want) {
					t.Errorf("PlanChecks:\n%v\nVersions made:\n%v", got, want)
				}
			})
		}
	}
}

// TestPlannedCallDescriptions: each call says what it reads and how.
func TestPlannedCallDescriptions(t *testing.T) {
	fe := NewPlanner("us-east-1", Options{Concurrency: 32, LookupEnv: environ(map[string]string{"E": "x"})})
	obj := target(t, "s3://b/k?versionId=v1")
	round, err := fe.PlanFetch([]Request{
		{Target: target(t, "ssm:/a")},
		{Target: target(t, "env:E")},
		{Target: obj, SSECustomerKey: make([]byte, 32)},
		{Target: target(t, "s3://b/plain?region=eu-west-1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Call{
		{Service: "ssm", Operation: "GetParameters", Region: "us-east-1", Targets: reqTargets(t, "ssm:/a"), KMS: true, Note: "up to 10 names, with decryption"},
		{Targets: reqTargets(t, "env:E"), Note: "the injector's own environment, no call"},
		{Service: "s3", Operation: "GetObject", Region: "us-east-1", Targets: reqTargets(t, "s3://b/k?versionId=v1"), SSECustomerKey: true, Version: true},
		{Service: "s3", Operation: "GetObject", Region: "eu-west-1", Targets: reqTargets(t, "s3://b/plain?region=eu-west-1"), KMS: true},
	}
	if fmt.Sprintf("%+v", round.Calls) != fmt.Sprintf("%+v", want) {
		t.Errorf("calls:\n%+v\nwant\n%+v", round.Calls, want)
	}
}

func reqTargets(t *testing.T, refs ...string) []ref.Target {
	t.Helper()
	out := make([]ref.Target, len(refs))
	for i, r := range refs {
		out[i] = target(t, r)
	}
	return out
}

// TestPlannerMakesNoCall: a planner's clients refuse every call, so a
// Fetch or a check through it fails without any connection.
func TestPlannerMakesNoCall(t *testing.T) {
	fe := NewPlanner("us-east-1", Options{Concurrency: 4})
	reqs := requests(t, "secretsmanager:s", "ssm:/a", "ssm:/p/", "s3://b/k")
	if _, err := fe.Fetch(context.Background(), reqs); !errors.Is(err, errNoCalls) {
		t.Errorf("Fetch: %v, want %v", err, errNoCalls)
	}
	if _, err := fe.Versions(context.Background(), reqs); !errors.Is(err, errNoCalls) {
		t.Errorf("Versions: %v, want %v", err, errNoCalls)
	}
	if err := NewPlanner("", Options{}).Preflight(reqTargets(t, "ssm:/a")); !errors.Is(err, ErrNoRegion) {
		t.Errorf("Check without a region: %v, want %v", err, ErrNoRegion)
	}
}
