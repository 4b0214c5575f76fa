package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const secretValue = "s3cr3t-value-never-in-errors"

func target(t *testing.T, s string) ref.Target { return testplan.Target(t, s) }

func requests(t *testing.T, refs ...string) []Request {
	reqs := make([]Request, len(refs))
	for i, s := range refs {
		reqs[i] = Request{Target: target(t, s)}
	}
	return reqs
}

func fetcher(f *fakeAWS, opts Options) *Fetcher { return newFetcher(f, "us-east-1", opts) }

// assertNoValue fails if err's text holds the secret value.
func assertNoValue(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(fmt.Sprint(err), secretValue) {
		t.Fatalf("error holds a secret value: %v", err)
	}
}

func TestFetchOK(t *testing.T) {
	f := newFake()
	for i := range 45 {
		f.addSecret(fmt.Sprintf("app/s%02d", i), fmt.Sprintf("secret-%02d", i))
	}
	for i := range 23 {
		f.addParam(fmt.Sprintf("/app/p%02d", i), fmt.Sprintf("param-%02d", i), int64(i+1))
	}
	f.addObject("bucket", "tls/key.pem", "PEM", true)
	f.addObject("bucket", "plain.txt", "PLAIN", false)
	var reqs []Request
	want := map[string]string{}
	for i := range 45 {
		s := fmt.Sprintf("secretsmanager:app/s%02d", i)
		reqs = append(reqs, requests(t, s)...)
		want[s] = fmt.Sprintf("secret-%02d", i)
	}
	for i := range 23 {
		s := fmt.Sprintf("ssm:/app/p%02d", i)
		reqs = append(reqs, requests(t, s)...)
		want[s] = fmt.Sprintf("param-%02d", i)
	}
	reqs = append(reqs, requests(t, "s3://bucket/tls/key.pem", "secretsmanager:app/s00")...) // a duplicate
	reqs = append(reqs, Request{Target: target(t, "s3://bucket/plain.txt"), AllowUnencrypted: true})
	want["s3://bucket/tls/key.pem"] = "PEM"
	want["s3://bucket/plain.txt"] = "PLAIN"

	vals, err := fetcher(f, Options{Concurrency: 4}).Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != len(want) {
		t.Fatalf("got %d values, want %d", len(vals), len(want))
	}
	for s, v := range want {
		if got := string(vals[target(t, s)].Bytes()); got != v {
			t.Errorf("%s = %q, want %q", s, got, v)
		}
	}
	counts := map[string]int{}
	for _, c := range f.callList() {
		counts[c]++
	}
	wantCalls := map[string]int{"us-east-1 BatchGetSecretValue": 3, "us-east-1 GetParameters": 3, "us-east-1 GetObject": 2}
	if fmt.Sprint(counts) != fmt.Sprint(wantCalls) {
		t.Errorf("calls %v, want %v", counts, wantCalls)
	}
	if got := vals[target(t, "secretsmanager:app/s07")].Version(); got != (secret.Version{ID: "v-app/s07", Stage: "AWSCURRENT"}) {
		t.Errorf("secret version %+v", got)
	}
	if got := vals[target(t, "ssm:/app/p04")].Version(); got.ID != "5" {
		t.Errorf("parameter version %+v", got)
	}
	if got := vals[target(t, "s3://bucket/tls/key.pem")].Version(); got.ID != "ov1" || got.ETag != `"etag-tls/key.pem"` {
		t.Errorf("object version %+v", got)
	}
	if m := f.maxInFlight.Load(); m > 4 {
		t.Errorf("%d calls in flight, want at most 4", m)
	}
}

func TestFetchPagedBatch(t *testing.T) {
	f := newFake()
	f.pageAt = 3
	var refs []string
	for i := range 20 {
		f.addSecret(fmt.Sprintf("s%d", i), fmt.Sprint(i))
		refs = append(refs, fmt.Sprintf("secretsmanager:s%d", i))
	}
	vals, err := fetcher(f, Options{Batch: BatchAlways}).Fetch(context.Background(), requests(t, refs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 20 {
		t.Fatalf("got %d values", len(vals))
	}
	if n := len(f.callList()); n != 7 { // 20 ids, 3 a page
		t.Errorf("%d calls, want 7 pages", n)
	}
}

func TestFetchPinnedAndARN(t *testing.T) {
	f := newFake()
	f.addSecret("app/db", secretValue)
	f.secrets["app/db"] = fakeSecret{arn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db-AbCdEf", versionID: "v9", stages: []string{"AWSPREVIOUS"}, bin: []byte{0, 1, 2}}
	tests := []struct {
		ref, wantStage, wantErr string
	}{
		{"secretsmanager:app/db::AWSPREVIOUS:", "AWSPREVIOUS", ""},
		{"secretsmanager:app/db:::v9", "", ""},
		{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db:::v9", "", ""},
		{"secretsmanager:app/db:::v8", "", "ResourceNotFoundException"},
		{"secretsmanager:app/db::AWSCURRENT:", "", "not staged AWSCURRENT"},
		{"secretsmanager:app/db", "", "not staged AWSCURRENT"},
	}
	for _, tt := range tests {
		for _, batch := range []Batching{BatchNever, BatchAlways} { // the batch answer is checked too
			t.Run(fmt.Sprintf("%s/%s", tt.ref, batch), func(t *testing.T) {
				vals, err := fetcher(f, Options{Batch: batch}).Fetch(context.Background(), requests(t, tt.ref))
				assertNoValue(t, err)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrFetch) {
						t.Fatalf("err = %v, want %q wrapping ErrFetch", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				v := vals[target(t, tt.ref)]
				if !slices.Equal(v.Bytes(), []byte{0, 1, 2}) || v.Version().ID != "v9" || v.Version().Stage != tt.wantStage {
					t.Fatalf("value %d bytes, version %+v", v.Len(), v.Version())
				}
			})
		}
	}
	if f.regions["eu-west-1"] == 0 {
		t.Error("the ARN's region was not used")
	}
}

func TestFetchErrors(t *testing.T) {
	big := strings.Repeat("x", 33)
	tests := []struct {
		name    string
		setup   func(f *fakeAWS)
		reqs    func(t *testing.T) []Request
		wantMsg []string
		code    string
		retry   bool
	}{
		{
			name:    "throttled",
			setup:   func(f *fakeAWS) { f.fail = func(_, op string) error { return throttled() } },
			reqs:    func(t *testing.T) []Request { return requests(t, "secretsmanager:a") },
			wantMsg: []string{"secretsmanager GetSecretValue of secretsmanager:a", "ThrottlingException"},
			code:    "ThrottlingException", retry: true,
		},
		{
			// Two calls do not fit in one (the concurrency here): a batch.
			name:    "throttled batch",
			setup:   func(f *fakeAWS) { f.fail = func(_, op string) error { return throttled() } },
			reqs:    func(t *testing.T) []Request { return requests(t, "secretsmanager:a", "secretsmanager:b") },
			wantMsg: []string{"secretsmanager BatchGetSecretValue of a, b", "ThrottlingException"},
			code:    "ThrottlingException", retry: true,
		},
		{
			name:    "network error on parameters",
			setup:   func(f *fakeAWS) { f.fail = func(_, op string) error { return errBoom } },
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/p") },
			wantMsg: []string{"ssm GetParameters", "connection reset"},
			retry:   true,
		},
		{
			name: "partial batch errors",
			setup: func(f *fakeAWS) {
				f.secrets["b"] = fakeSecret{arn: "arn:aws:secretsmanager:us-east-1:1:secret:b-AbCdEf", batchError: "DecryptionFailure"}
			},
			reqs: func(t *testing.T) []Request {
				return requests(t, "secretsmanager:a", "secretsmanager:b", "secretsmanager:missing")
			},
			wantMsg: []string{"secretsmanager BatchGetSecretValue of b: DecryptionFailure", "secretsmanager BatchGetSecretValue of missing: ResourceNotFoundException"},
			code:    "DecryptionFailure",
		},
		{
			name:    "missing parameter",
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/p", "ssm:/nope") },
			wantMsg: []string{"ssm GetParameters of /nope", "not found or not readable"},
			code:    "InvalidParameters",
		},
		{
			name:    "missing parameters, each named",
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/nope", "ssm:/p", "ssm:/gone") },
			wantMsg: []string{"ssm GetParameters of /nope: parameter not found or not readable", "ssm GetParameters of /gone: parameter not found or not readable"},
			code:    "InvalidParameters",
		},
		{
			name:    "missing object version",
			reqs:    func(t *testing.T) []Request { return requests(t, "s3://bucket/enc?versionId=old") },
			wantMsg: []string{"s3 GetObject of s3://bucket/enc?versionId=old", "NoSuchVersion"},
			code:    "NoSuchVersion",
		},
		{
			name:    "unencrypted object",
			reqs:    func(t *testing.T) []Request { return requests(t, "s3://bucket/plain") },
			wantMsg: []string{"s3://bucket/plain", "not stored with server-side encryption"},
		},
		{
			name:    "oversized secret",
			setup:   func(f *fakeAWS) { f.addSecret("a", big) },
			reqs:    func(t *testing.T) []Request { return requests(t, "secretsmanager:a") },
			wantMsg: []string{"secretsmanager:a", "larger than 32 bytes"},
		},
		{
			name:    "oversized pinned secret",
			setup:   func(f *fakeAWS) { f.addSecret("a", big) },
			reqs:    func(t *testing.T) []Request { return requests(t, "secretsmanager:a:::v-a") },
			wantMsg: []string{"larger than 32 bytes"},
		},
		{
			name:    "oversized parameter",
			setup:   func(f *fakeAWS) { f.addParam("/p", big, 1) },
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/p") },
			wantMsg: []string{"ssm:/p", "larger than 32 bytes"},
		},
		{
			name:    "oversized object by length",
			setup:   func(f *fakeAWS) { f.addObject("bucket", "big", big, true) },
			reqs:    func(t *testing.T) []Request { return requests(t, "s3://bucket/big") },
			wantMsg: []string{"larger than 32 bytes"},
		},
		{
			name: "oversized object without length",
			setup: func(f *fakeAWS) {
				f.addObject("bucket", "big", big, true)
				f.objects["bucket/big"].ContentLength = nil
			},
			reqs:    func(t *testing.T) []Request { return requests(t, "s3://bucket/big") },
			wantMsg: []string{"larger than 32 bytes"},
		},
		{
			name: "truncated object",
			setup: func(f *fakeAWS) {
				f.addObject("bucket", "short", "abc", true)
				f.objects["bucket/short"].ContentLength = aws.Int64(10)
			},
			reqs:    func(t *testing.T) []Request { return requests(t, "s3://bucket/short") },
			wantMsg: []string{"unexpected EOF", "got 3 of 10 bytes"},
		},
		{
			name: "bad SSE-C key",
			reqs: func(t *testing.T) []Request {
				return []Request{{Target: target(t, "s3://bucket/enc"), SSECustomerKey: []byte("short")}}
			},
			wantMsg: []string{"SSE-C key must be 32 bytes"},
		},
		{
			name: "secret without value",
			setup: func(f *fakeAWS) {
				f.secrets["e"] = fakeSecret{arn: "arn:aws:secretsmanager:us-east-1:1:secret:e-AbCdEf", stages: []string{"AWSCURRENT"}}
			},
			reqs:    func(t *testing.T) []Request { return requests(t, "secretsmanager:e") },
			wantMsg: []string{"neither a string nor a binary value"},
		},
		{
			name:    "no region",
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/p") },
			wantMsg: []string{"ssm:/p names no region"},
		},
		{
			name:    "panicking call",
			setup:   func(f *fakeAWS) { f.fail = func(_, _ string) error { panic("boom") } },
			reqs:    func(t *testing.T) []Request { return requests(t, "ssm:/p") },
			wantMsg: []string{"a fetch call panicked"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.addSecret("a", secretValue)
			f.addParam("/p", secretValue, 1)
			f.addObject("bucket", "enc", secretValue, true)
			f.addObject("bucket", "plain", secretValue, false)
			if tt.setup != nil {
				tt.setup(f)
			}
			region := "us-east-1"
			if tt.name == "no region" {
				region = ""
			}
			vals, err := newFetcher(f, region, Options{MaxValueBytes: 32}).Fetch(context.Background(), tt.reqs(t))
			if err == nil {
				t.Fatalf("no error; %d values", len(vals))
			}
			if vals != nil {
				t.Errorf("values returned with an error")
			}
			assertNoValue(t, err)
			if !errors.Is(err, ErrFetch) {
				t.Errorf("error does not wrap ErrFetch: %v", err)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *sources.Error: %T", err)
			}
			if tt.code != "" && fe.Code != tt.code {
				t.Errorf("code %q, want %q", fe.Code, tt.code)
			}
			if fe.Retryable != tt.retry {
				t.Errorf("retryable %v, want %v", fe.Retryable, tt.retry)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	f := newFake()
	f.block = make(chan struct{})
	for i := range 5 {
		f.addParam(fmt.Sprintf("/p%d", i), "v", 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var refs []string
	for i := range 5 {
		refs = append(refs, fmt.Sprintf("s3://b/k%d", i))
	}
	go func() {
		_, err := fetcher(f, Options{Concurrency: 2}).Fetch(ctx, requests(t, refs...))
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrFetch) {
			t.Fatalf("err = %v, want context.Canceled wrapping ErrFetch", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Fetch did not return after cancel")
	}
}

func TestCheckRegions(t *testing.T) {
	f := newFetcher(newFake(), "", Options{})
	if err := f.Preflight([]ref.Target{target(t, "arn:aws:ssm:eu-west-1:111122223333:parameter/p")}); err != nil {
		t.Fatalf("ARN region refused: %v", err)
	}
	err := f.Preflight([]ref.Target{target(t, "secretsmanager:x")})
	if !errors.Is(err, ErrNoRegion) || !strings.Contains(err.Error(), "secretsmanager:x names no region") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownSource(t *testing.T) {
	_, err := fetcher(newFake(), Options{}).Fetch(context.Background(), []Request{{Target: ref.Target{Source: 99, ID: "x"}}})
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "unknown source") {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorText(t *testing.T) {
	e := callError("ssm:/p", "ssm", "GetParameters", apiError("AccessDeniedException", "not authorized"))
	if got := e.Error(); got != "ssm GetParameters of ssm:/p: api error AccessDeniedException: not authorized" {
		t.Errorf("Error() = %q", got)
	}
	if e.Code != "AccessDeniedException" || e.Retryable {
		t.Errorf("%+v", e)
	}
}

func TestSDKClientsLazy(t *testing.T) {
	c := newSDKClients(aws.Config{Region: "us-east-1"}, Options{S3PathStyle: true})
	eu := scope{Region: "eu-west-1"}
	if c.secretsManager(eu) != c.secretsManager(eu) {
		t.Error("client not reused")
	}
	_ = c.ssm(eu)
	_ = c.s3(scope{Region: "us-east-1"})
	if len(c.sm) != 1 || len(c.ps) != 1 || len(c.obj) != 1 {
		t.Errorf("clients built: %d %d %d", len(c.sm), len(c.ps), len(c.obj))
	}
	// One client per role, and one credentials cache per role however
	// many services and regions use it.
	a := Role{ARN: "arn:aws:iam::111122223333:role/a"}
	if c.secretsManager(scope{Region: "eu-west-1", Role: a}) == c.secretsManager(eu) {
		t.Error("a role shares the task's client")
	}
	_ = c.ssm(scope{Region: "us-east-1", Role: a})
	_ = c.ssm(scope{Region: "us-east-1", Role: Role{ARN: a.ARN, ExternalID: "x1"}})
	if len(c.roles.cache) != 2 {
		t.Errorf("credentials caches: %d, want 2", len(c.roles.cache))
	}
	if New(aws.Config{}, Options{}).opts.Concurrency != 1 {
		t.Error("concurrency default")
	}
}

// TestBatchAnswerTwice: a BatchGetSecretValue answer that gives one secret
// twice is ambiguous unless both entries are the same version and value.
func TestBatchAnswerTwice(t *testing.T) {
	tests := []struct {
		name    string
		reshape func(e smtypes.SecretValueEntry) smtypes.SecretValueEntry
		wantErr bool
	}{
		{name: "another value", wantErr: true, reshape: func(e smtypes.SecretValueEntry) smtypes.SecretValueEntry {
			e.SecretString = aws.String("other-" + secretValue)
			return e
		}},
		{name: "another version", wantErr: true, reshape: func(e smtypes.SecretValueEntry) smtypes.SecretValueEntry {
			e.VersionId = aws.String("v-other")
			return e
		}},
		{name: "the same entry", reshape: func(e smtypes.SecretValueEntry) smtypes.SecretValueEntry { return e }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.addSecret("a", secretValue)
			f.addSecret("b", "b-value")
			f.reshapeBatch = func(out *secretsmanager.BatchGetSecretValueOutput) {
				for _, e := range out.SecretValues {
					if aws.ToString(e.Name) == "a" {
						out.SecretValues = append(out.SecretValues, tt.reshape(e))
						return
					}
				}
			}
			vals, err := fetcher(f, Options{Batch: BatchAlways}).Fetch(context.Background(), requests(t, "secretsmanager:a", "secretsmanager:b"))
			if !tt.wantErr {
				if err != nil || string(vals[target(t, "secretsmanager:a")].Bytes()) != secretValue {
					t.Fatalf("Fetch: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			assertNoValue(t, err)
			if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "secretsmanager BatchGetSecretValue of secretsmanager:a: returned twice, with different answers") {
				t.Errorf("error %q", err)
			}
		})
	}
}
