package sources

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// TestBatchingRule checks the per-run choice between one GetSecretValue per
// secret and BatchGetSecretValue: one call each while every call of the run
// fits in flight at once, batches otherwise; never more than one call for
// a secret.
func TestBatchingRule(t *testing.T) {
	tests := []struct {
		name        string
		secrets     int
		pinned      int
		params      int
		concurrency int
		batch       Batching
		want        map[string]int
	}{
		{name: "one secret", secrets: 1, concurrency: 32, want: map[string]int{"GetSecretValue": 1}},
		{name: "fits in one wave", secrets: 22, params: 95, concurrency: 32, // 22 + 10 = 32 calls
			want: map[string]int{"GetSecretValue": 22, "GetParameters": 10}},
		{name: "one more does not", secrets: 23, params: 95, concurrency: 32,
			want: map[string]int{"BatchGetSecretValue": 2, "GetParameters": 10}},
		{name: "100 and 100", secrets: 100, params: 100, concurrency: 32,
			want: map[string]int{"BatchGetSecretValue": 5, "GetParameters": 10}},
		{name: "pinned stay single in a batch run", secrets: 40, pinned: 3, concurrency: 32,
			want: map[string]int{"BatchGetSecretValue": 2, "GetSecretValue": 3}},
		{name: "always", secrets: 2, concurrency: 32, batch: BatchAlways, want: map[string]int{"BatchGetSecretValue": 1}},
		{name: "never", secrets: 45, concurrency: 8, batch: BatchNever, want: map[string]int{"GetSecretValue": 45}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			var refs []string
			for i := range tt.secrets {
				f.addSecret(fmt.Sprintf("s%03d", i), fmt.Sprint(i))
				refs = append(refs, fmt.Sprintf("secretsmanager:s%03d", i))
			}
			for i := range tt.pinned {
				refs = append(refs, fmt.Sprintf("secretsmanager:s%03d:::v-s%03d", i, i))
			}
			for i := range tt.params {
				f.addParam(fmt.Sprintf("/p%03d", i), fmt.Sprint(i), 1)
				refs = append(refs, fmt.Sprintf("ssm:/p%03d", i))
			}
			vals, err := fetcher(f, Options{Concurrency: tt.concurrency, Batch: tt.batch}).Fetch(context.Background(), requests(t, refs...))
			if err != nil {
				t.Fatal(err)
			}
			if len(vals) != len(refs) {
				t.Fatalf("%d values for %d references", len(vals), len(refs))
			}
			got := map[string]int{}
			for _, c := range f.callList() {
				got[c[len("us-east-1 "):]]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("calls %v, want %v", got, tt.want)
			}
			if got["GetSecretValue"]+got["BatchGetSecretValue"] > tt.secrets+tt.pinned {
				t.Errorf("more Secrets Manager calls than secrets")
			}
		})
	}
}

// All calls of a run are in flight at once, up to the concurrency.
func TestAllCallsInFlight(t *testing.T) {
	f := newFake()
	f.block = make(chan struct{})
	var refs []string
	for i := range 32 {
		f.addSecret(fmt.Sprintf("s%02d", i), "v")
		refs = append(refs, fmt.Sprintf("secretsmanager:s%02d", i))
	}
	done := make(chan error, 1)
	go func() {
		_, err := fetcher(f, Options{Concurrency: 32}).Fetch(context.Background(), requests(t, refs...))
		done <- err
	}()
	for f.inFlight.Load() < 32 {
		select {
		case err := <-done:
			t.Fatalf("Fetch ended early: %v", err)
		default:
		}
		runtime.Gosched() // let the calls start; no timing is asserted

	}
	close(f.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
