package sources

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// bodyCheck is an HTTP client that records, per request, whether its body
// offers WriteTo.
type bodyCheck struct {
	next *http.Client

	mu      sync.Mutex
	writeTo []bool
}

func (c *bodyCheck) Do(r *http.Request) (*http.Response, error) {
	_, wt := r.Body.(io.WriterTo)
	c.mu.Lock()
	c.writeTo = append(c.writeTo, wt)
	c.mu.Unlock()
	return c.next.Do(r)
}

// TestPlainRequestBody: Secrets Manager and SSM calls reach the transport
// with a body that has no WriteTo, whole, also on a retried attempt.
func TestPlainRequestBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if n%2 == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type":"InternalFailure"}`)
			return
		}
		if r.Header.Get("X-Amz-Target") == "AmazonSSM.GetParameters" {
			_, _ = io.WriteString(w, `{"Parameters":[{"Name":"/p","Value":"v","Version":1,"Type":"String"}],"InvalidParameters":[]}`)
			return
		}
		_, _ = w.Write(secretAnswer(t, "v"))
	}))
	t.Cleanup(srv.Close)
	hc := &bodyCheck{next: srv.Client()}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("id", "key", ""), RetryMaxAttempts: 2}
	for _, r := range []string{"secretsmanager:a", "ssm:/p"} {
		mu.Lock()
		bodies = nil
		mu.Unlock()
		if _, err := New(cfg, Options{}).Fetch(context.Background(), requests(t, r)); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		mu.Lock()
		if len(bodies) != 2 || bodies[0] == "" || bodies[0] != bodies[1] {
			t.Errorf("%s: the attempts sent %q, want the same body twice", r, bodies)
		}
		mu.Unlock()
	}
	for i, wt := range hc.writeTo {
		if wt {
			t.Errorf("request %d: the body has WriteTo", i+1)
		}
	}
	if len(hc.writeTo) != 4 {
		t.Errorf("%d requests, want 4", len(hc.writeTo))
	}
}
