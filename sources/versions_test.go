package sources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-secret-injector/injector/secret"
)

func callCounts(f *fakeAWS) map[string]int {
	counts := map[string]int{}
	for _, c := range f.callList() {
		_, op, _ := strings.Cut(c, " ")
		counts[op]++
	}
	return counts
}

// valueCalls are the operations that return secret values.
var valueCalls = []string{"BatchGetSecretValue", "GetSecretValue", "GetParameters", "GetObject"}

// TestVersionsMatchFetch checks that what a change check reports for an
// unchanged item equals the version Fetch recorded, for every source, and
// that the check makes no value-fetching call: one DescribeSecret per
// secret, one GetParameters without decryption per 10 names, one
// HeadObject per object.
func TestVersionsMatchFetch(t *testing.T) {
	f := newFake()
	var refs []string
	for i := range 3 {
		f.addSecret(fmt.Sprintf("app/s%d", i), secretValue)
		refs = append(refs, fmt.Sprintf("secretsmanager:app/s%d", i))
	}
	for i := range 12 {
		f.addParam(fmt.Sprintf("/app/p%02d", i), secretValue, int64(i+1))
		refs = append(refs, fmt.Sprintf("ssm:/app/p%02d", i))
	}
	f.addObject("bucket", "k", secretValue, true)
	refs = append(refs, "s3://bucket/k", "secretsmanager:app/s0") // a duplicate
	reqs := requests(t, refs...)
	fe := fetcher(f, Options{Concurrency: 3})
	vals, err := fe.Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	vers, err := fe.Versions(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(vers) != len(vals) {
		t.Fatalf("%d versions for %d values", len(vers), len(vals))
	}
	for tg, v := range vals {
		if vers[tg] != v.Version() {
			t.Errorf("%s: check says %+v, fetch said %+v", tg, vers[tg], v.Version())
		}
	}
	want := map[string]int{"DescribeSecret": 3, "GetParametersNoDecryption": 2, "HeadObject": 1}
	if got := callCounts(f); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func TestVersionsSeeChanges(t *testing.T) {
	tests := []struct {
		name    string
		ref     string
		change  func(f *fakeAWS)
		changed bool
	}{
		{"secret rotated", "secretsmanager:s", func(f *fakeAWS) {
			s := f.secrets["s"]
			s.others = map[string][]string{s.versionID: {"AWSPREVIOUS"}}
			s.versionID = "v2"
			f.secrets["s"] = s
		}, true},
		{"a pending version changes nothing", "secretsmanager:s", func(f *fakeAWS) {
			s := f.secrets["s"]
			s.others = map[string][]string{"v2": {"AWSPENDING"}}
			f.secrets["s"] = s
		}, false},
		{"pinned stage moves", "secretsmanager:s::AWSPREVIOUS:", func(f *fakeAWS) {
			s := f.secrets["s"]
			s.others = map[string][]string{"v0": {"AWSPREVIOUS"}}
			f.secrets["s"] = s
		}, true},
		{"AWSCURRENT moves, AWSPREVIOUS pinned, unchanged", "secretsmanager:s::AWSPREVIOUS:", func(f *fakeAWS) {
			s := f.secrets["s"]
			s.others["v3"] = []string{"AWSCURRENT"}
			s.stages = nil
			f.secrets["s"] = s
		}, false},
		{"parameter overwritten", "ssm:/p", func(f *fakeAWS) { f.addParam("/p", "new", 8) }, true},
		{"parameter label moves", "ssm:/p:prod", func(f *fakeAWS) {
			p := f.params["/p:prod"]
			p.Version = 8
			f.params["/p:prod"] = p
		}, true},
		{"object replaced", "s3://b/k", func(f *fakeAWS) { f.objects["b/k"].ETag = aws.String(`"other"`) }, true},
		{"object version", "s3://b/k", func(f *fakeAWS) { f.objects["b/k"].VersionId = aws.String("ov2") }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.addSecret("s", secretValue)
			if strings.Contains(tc.ref, "AWSPREVIOUS") {
				s := f.secrets["s"]
				s.others = map[string][]string{"v1": {"AWSPREVIOUS"}}
				f.secrets["s"] = s
			}
			f.addParam("/p", secretValue, 7)
			labelled := f.params["/p"]
			labelled.Selector = aws.String(":prod")
			f.params["/p:prod"] = labelled
			f.addObject("b", "k", secretValue, true)
			fe := fetcher(f, Options{})
			reqs := requests(t, tc.ref)
			before, err := fe.Versions(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(f)
			after, err := fe.Versions(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			tg := reqs[0].Target
			if got := before[tg] != after[tg]; got != tc.changed {
				t.Errorf("changed = %v (%+v -> %+v), want %v", got, before[tg], after[tg], tc.changed)
			}
		})
	}
}

// TestVersionsSkipFixed checks that targets naming a version that cannot
// change cost no call.
func TestVersionsSkipFixed(t *testing.T) {
	f := newFake()
	reqs := requests(t, "secretsmanager:s:::v1", "ssm:/p:3", "s3://b/k?versionId=abc",
		"arn:aws:ssm:us-east-1:111122223333:parameter/p:12")
	vers, err := fetcher(f, Options{}).Versions(context.Background(), reqs)
	if err != nil || len(vers) != 0 || len(f.callList()) != 0 {
		t.Fatalf("versions %v, err %v, calls %v: want none", vers, err, f.callList())
	}
	for _, r := range requests(t, "ssm:/p:prod", "secretsmanager:s::AWSPENDING:", "s3://b/k") {
		if Fixed(r.Target) {
			t.Errorf("%s reported fixed", r.Target)
		}
	}
}

// TestVersionsPartialFailure checks that a failed check names its
// reference and the service's error, never a value, and that the other
// items' versions are still returned.
func TestVersionsPartialFailure(t *testing.T) {
	f := newFake()
	f.addSecret("ok", secretValue)
	f.addSecret("denied", secretValue)
	f.addParam("/p", secretValue, 1)
	f.addObject("b", "k", secretValue, true)
	f.fail = func(region, op string) error {
		if op == "HeadObject" {
			return throttled()
		}
		return nil
	}
	fe := fetcher(f, Options{})
	denied := f.secrets["denied"]
	denied.stages = []string{"AWSPREVIOUS"} // no version is AWSCURRENT
	f.secrets["denied"] = denied
	reqs := requests(t, "secretsmanager:ok", "secretsmanager:denied", "ssm:/p", "ssm:/missing", "s3://b/k")
	vers, err := fe.Versions(context.Background(), reqs)
	assertNoValue(t, err)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"s3 HeadObject of s3://b/k", "ThrottlingException", "secretsmanager DescribeSecret of secretsmanager:denied",
		"staged AWSCURRENT", "ssm GetParameters of ssm:/missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var fe2 *Error
	if !errors.As(err, &fe2) || !errors.Is(err, ErrFetch) {
		t.Errorf("error %T does not unwrap to *Error and ErrFetch", err)
	}
	if len(vers) != 2 || vers[target(t, "secretsmanager:ok")] != (secret.Version{ID: "v-ok", Stage: "AWSCURRENT"}) ||
		vers[target(t, "ssm:/p")].ID != "1" {
		t.Errorf("versions %v, want ok and /p", vers)
	}
}

func TestVersionsSSECKey(t *testing.T) {
	f := newFake()
	f.addObject("b", "k", secretValue, true)
	key := []byte(strings.Repeat("k", 32))
	_, err := fetcher(f, Options{}).Versions(context.Background(), []Request{{Target: target(t, "s3://b/k"), SSECustomerKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	if _, b64, _ := sseCHeaders(key); f.headKeys["b/k"] != *b64 {
		t.Errorf("HeadObject got SSE-C key %q", f.headKeys["b/k"])
	}
}

func TestVersionsCancelled(t *testing.T) {
	f := newFake()
	f.addSecret("s", secretValue)
	f.block = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fetcher(f, Options{}).Versions(ctx, requests(t, "secretsmanager:s"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestVersionsMakeNoValueCall(t *testing.T) {
	f := newFake()
	f.addSecret("s", secretValue)
	f.addParam("/p", secretValue, 1)
	f.addObject("b", "k", secretValue, true)
	if _, err := fetcher(f, Options{}).Versions(context.Background(), requests(t, "secretsmanager:s", "ssm:/p", "s3://b/k")); err != nil {
		t.Fatal(err)
	}
	counts := callCounts(f)
	for _, op := range valueCalls {
		if counts[op] != 0 {
			t.Errorf("%d %s calls", counts[op], op)
		}
	}
}
