package sources

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestBoundedBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		bound    int64
		wantRead string
		tooLarge bool
	}{
		{name: "shorter", body: "abc", bound: 5, wantRead: "abc"},
		{name: "exactly the bound", body: "abcde", bound: 5, wantRead: "abcde"},
		{name: "one byte more", body: "abcdef", bound: 5, wantRead: "abcde", tooLarge: true},
		{name: "far more", body: strings.Repeat("x", 1<<20), bound: 1000, wantRead: strings.Repeat("x", 1000), tooLarge: true},
		{name: "empty", body: "", bound: 0, wantRead: ""},
		{name: "zero bound", body: "a", bound: 0, wantRead: "", tooLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &boundedBody{r: io.NopCloser(strings.NewReader(tt.body)), left: tt.bound, bound: tt.bound}
			got, err := io.ReadAll(b)
			if string(got) != tt.wantRead {
				t.Errorf("read %d bytes, want %d", len(got), len(tt.wantRead))
			}
			if errors.Is(err, errAnswerTooLarge) != tt.tooLarge {
				t.Fatalf("error %v, want too large: %v", err, tt.tooLarge)
			}
			if tt.tooLarge {
				// Reading on (as the SDK drains a body before closing it)
				// reads nothing more.
				if n, err := b.Read(make([]byte, 10)); n != 0 || !errors.Is(err, errAnswerTooLarge) {
					t.Errorf("read on: %d bytes, %v", n, err)
				}
			}
		})
	}
}

func TestAnswerBound(t *testing.T) {
	if got, want := answerBound(100, 1), int64(600+2*answerEntryOverhead); got != want {
		t.Errorf("answerBound(100, 1) = %d, want %d", got, want)
	}
	if got := answerBound(math.MaxInt64/2, 1); got != math.MaxInt64 {
		t.Errorf("answerBound of a huge limit = %d, want it to saturate", got)
	}
	f := newFetcher(newFake(), "us-east-1", Options{MaxValueBytes: math.MaxInt64 / 4})
	if got := f.valuesBound(20); got != math.MaxInt64 {
		t.Errorf("valuesBound(20) of a huge limit = %d, want it to saturate", got)
	}
}

// sdkFetcher is a Fetcher with the real SDK clients, against an HTTP
// server that answers every call with answer and counts the calls.
func sdkFetcher(t *testing.T, opts Options, answer func(w http.ResponseWriter)) (*Fetcher, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		answer(w)
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("id", "key", ""), RetryMaxAttempts: 3}
	return New(cfg, opts), &calls
}

func secretAnswer(t *testing.T, value string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf", "Name": "a",
		"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "SecretString": value, "CreatedDate": 1.7e9})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAnswerBoundSDK drives the real SDK client: an answer larger than its
// bound fails once the bound is read (or at once by its Content-Length),
// is not retried, and says the value is too large; a value at the limit in
// its most expanded JSON form still fits.
func TestAnswerBoundSDK(t *testing.T) {
	const limit = 4096
	controls := strings.Repeat("\x01", limit) // each written \u0001
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		wantErr string
	}{
		{name: "value at the limit, all escaped", answer: func(w http.ResponseWriter) { _, _ = w.Write(secretAnswer(t, controls)) }},
		{name: "too large by Content-Length", wantErr: "secretsmanager:a: value is larger than 4096 bytes", answer: func(w http.ResponseWriter) {
			_, _ = w.Write(secretAnswer(t, strings.Repeat("x", 1<<20)))
		}},
		{name: "too large, without Content-Length, cut off past the bound", wantErr: "secretsmanager:a: value is larger than 4096 bytes",
			answer: func(w http.ResponseWriter) {
				_, _ = io.WriteString(w, `{"Name":"a","SecretString":"`)
				chunk := strings.Repeat("x", 64<<10)
				for range 32 {
					_, _ = io.WriteString(w, chunk)
					w.(http.Flusher).Flush()
				}
				// No end: an answer read past its bound would fail to decode.
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, calls := sdkFetcher(t, Options{MaxValueBytes: limit}, tt.answer)
			vals, err := f.Fetch(context.Background(), requests(t, "secretsmanager:a"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := vals[target(t, "secretsmanager:a")].Bytes(); string(got) != controls {
					t.Errorf("got %d bytes, want the %d written", len(got), limit)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrFetch) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1 (no retry)", n)
			}
		})
	}
}

// TestAnswerBoundEveryCall: every Secrets Manager and SSM call the
// sources make, fetches and version checks, is bounded.
func TestAnswerBoundEveryCall(t *testing.T) {
	big := `{"SecretValues":[],"Parameters":[],"VersionIdsToStages":{},"x":"` + strings.Repeat("x", 1<<20) + `"}`
	refs := []string{"secretsmanager:a", "secretsmanager:b", "ssm:/p", "ssm:/q", "ssm:/path/"}
	// Calls: never: two GetSecretValue, one GetParameters, one
	// GetParametersByPath; always: one BatchGetSecretValue instead of the
	// two; the checks: two DescribeSecret, GetParameters, GetParametersByPath.
	for batch, fetchCalls := range map[Batching]int{BatchNever: 4, BatchAlways: 3} {
		f, _ := sdkFetcher(t, Options{MaxValueBytes: 1024, Batch: batch, Concurrency: 8},
			func(w http.ResponseWriter) { _, _ = io.WriteString(w, big) })
		reqs := requests(t, refs...)
		_, fetchErr := f.Fetch(context.Background(), reqs)
		_, checkErr := f.Versions(context.Background(), reqs)
		for i, err := range []error{fetchErr, checkErr} {
			if err == nil {
				t.Fatalf("%s: no error", batch)
			}
			for _, r := range refs {
				id := strings.TrimPrefix(strings.TrimPrefix(r, "secretsmanager:"), "ssm:")
				if !strings.Contains(err.Error(), id) {
					t.Errorf("%s: %q does not name %s", batch, err, r)
				}
			}
			want := []int{fetchCalls, 4}[i]
			if n := strings.Count(err.Error(), "larger than 1024 bytes"); n != want {
				t.Errorf("%s: %d calls refused as too large, want %d: %v", batch, n, want, err)
			}
		}
	}
}
