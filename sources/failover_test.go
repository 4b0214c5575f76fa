package sources

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-secret-injector/injector/ref"
)

// apiErr is an SDK operation error as a service answer makes it.
func apiErr(service string, status int, code string, fault smithy.ErrorFault) error {
	return &smithy.OperationError{ServiceID: service, OperationName: "Op", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault},
	}}
}

func TestOutage(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"access denied", apiErr("Secrets Manager", 400, "AccessDeniedException", smithy.FaultClient), false},
		{"not found", apiErr("Secrets Manager", 400, "ResourceNotFoundException", smithy.FaultClient), false},
		{"deleted secret", apiErr("Secrets Manager", 400, "InvalidRequestException", smithy.FaultClient), false},
		{"validation", apiErr("SSM", 400, "ValidationException", smithy.FaultClient), false},
		{"decryption failure", apiErr("Secrets Manager", 400, "DecryptionFailure", smithy.FaultClient), false},
		{"kms denial", apiErr("SSM", 400, "AccessDeniedException", smithy.FaultClient), false},
		{"ssm not found", &Error{Ref: "ssm:/a", Code: "InvalidParameters", Err: errors.New("parameter not found or not readable")}, false},
		{"answer too large", &answerTooLargeError{bound: 1}, false},
		{"refused answer", valueError("x", "secret has neither a string nor a binary value"), false},
		{"4xx without code", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 403}}, Err: errors.New("forbidden")}, false},
		{"other", errors.New("something"), false},
		{"internal error", apiErr("Secrets Manager", 500, "InternalServiceError", smithy.FaultServer), true},
		{"unavailable", apiErr("Secrets Manager", 503, "ServiceUnavailable", smithy.FaultUnknown), true},
		{"bad gateway, no code", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 502}}, Err: errors.New("bad gateway")}, true},
		{"throttled", apiErr("Secrets Manager", 400, "ThrottlingException", smithy.FaultClient), true},
		{"too many requests", apiErr("SSM", 400, "TooManyRequestsException", smithy.FaultClient), true},
		{"retries spent", &retry.MaxAttemptsError{Attempt: 3, Err: apiErr("Secrets Manager", 503, "ServiceUnavailable", smithy.FaultServer)}, true},
		{"connection refused", &smithy.OperationError{ServiceID: "SSM", Err: &smithyhttp.RequestSendError{Err: refused}}, true},
		{"bare net error", fmt.Errorf("read: %w", refused), true},
		{"timeout", fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{"assume role denied", &smithy.OperationError{ServiceID: "Secrets Manager", Err: fmt.Errorf("failed to retrieve credentials: %w",
			apiErr("STS", 403, "AccessDenied", smithy.FaultClient))}, false},
		{"sts unavailable", &smithy.OperationError{ServiceID: "Secrets Manager", Err: fmt.Errorf("failed to retrieve credentials: %w",
			apiErr("STS", 503, "ServiceUnavailable", smithy.FaultServer))}, false},
		{"wrapped in a fetch error", callError("secretsmanager:a", smService, opGetSecret, apiErr("Secrets Manager", 500, "InternalServiceError", smithy.FaultServer)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Outage(tt.err); got != tt.want {
				t.Errorf("Outage(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestReplicaTarget(t *testing.T) {
	tests := []struct{ id, want string }{
		{"app/db", "app/db"},
		{"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf", "arn:aws:secretsmanager:us-west-2:111122223333:secret:app/db-AbCdEf"},
		{"arn:aws:ssm:us-east-1:111122223333:parameter/app/key:3", "arn:aws:ssm:us-west-2:111122223333:parameter/app/key:3"},
	}
	for _, tt := range tests {
		got := ReplicaTarget(ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: tt.id}, "us-west-2")
		if got.ID != tt.want || got.Region != "us-west-2" {
			t.Errorf("ReplicaTarget(%s) = %+v, want ID %s", tt.id, got, tt.want)
		}
	}
}

func TestFailover(t *testing.T) {
	unavailable := apiErr("Secrets Manager", 503, "ServiceUnavailable", smithy.FaultServer)
	denied := apiErr("Secrets Manager", 400, "AccessDeniedException", smithy.FaultClient)
	tests := []struct {
		name       string
		primary    error // what every call in us-east-1 answers
		wantErr    string
		wantRegion string
	}{
		{name: "primary serves", wantRegion: "us-east-1"},
		{name: "outage fails over", primary: unavailable, wantRegion: "us-west-2"},
		{name: "refusal does not", primary: denied, wantErr: "AccessDeniedException"},
	}
	for _, tt := range tests {
		for _, batch := range []Batching{BatchNever, BatchAlways} {
			t.Run(tt.name+"/"+string(batch), func(t *testing.T) {
				fake := newFake()
				fake.addSecret("db", "s3cret")
				fake.addParam("/p", "pv", 1)
				fake.fail = func(region, _ string) error {
					if region == "us-east-1" {
						return tt.primary
					}
					return nil
				}
				f := newFetcher(fake, "us-east-1", Options{Batch: batch, Concurrency: 4})
				db := ref.Target{Source: ref.SecretsManager, ID: "db"}
				p := ref.Target{Source: ref.SSM, ID: "/p"}
				reqs := []Request{{Target: db, FailoverRegion: "us-west-2"}, {Target: p, FailoverRegion: "us-west-2"}}
				vals, err := f.Fetch(context.Background(), reqs)
				calls := fake.callList()
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrFetch) {
						t.Fatalf("err = %v, want a fetch error with %s", err, tt.wantErr)
					}
					if slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "us-west-2") }) {
						t.Errorf("a refusal failed over: calls %v", calls)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(vals[db].Bytes()) != "s3cret" || string(vals[p].Bytes()) != "pv" {
					t.Errorf("values %q %q", vals[db].Bytes(), vals[p].Bytes())
				}
				if r := f.Regions(); r[db] != tt.wantRegion || r[p] != tt.wantRegion {
					t.Errorf("Regions() = %v, want %s", r, tt.wantRegion)
				}
				// The checks fail over as the fetch does, the primary first.
				vs, err := f.Versions(context.Background(), reqs)
				if err != nil || vs[db].ID != "v-db" {
					t.Errorf("Versions = %v, %v", vs, err)
				}
			})
		}
	}
}

// TestFailoverPlanned: the planned calls name their failover region and
// the replicas' ARNs; S3 and env: never fail over; a role is in every
// call it makes.
func TestFailoverPlanned(t *testing.T) {
	f := NewPlanner("us-east-1", Options{})
	role := Role{ARN: "arn:aws:iam::444455556666:role/r"}
	arnID := "arn:aws:secretsmanager:us-east-1:444455556666:secret:db-AbCdEf"
	round, err := f.PlanFetch([]Request{
		{Target: ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: arnID}, FailoverRegion: "us-west-2", Role: role},
		{Target: ref.Target{Source: ref.S3, ID: "b", Key: "k"}, FailoverRegion: "us-west-2"},
		{Target: ref.Target{Source: ref.SSM, ID: "/p"}, FailoverRegion: "us-east-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range round.Calls {
		switch c.Service {
		case smService:
			if c.FailoverRegion != "us-west-2" || c.Role != role.ARN || c.FailoverTargets[0].ID != "arn:aws:secretsmanager:us-west-2:444455556666:secret:db-AbCdEf" {
				t.Errorf("secret call %+v", c)
			}
		default:
			if c.FailoverRegion != "" || c.Role != "" {
				t.Errorf("%s call fails over or has a role: %+v", c.Service, c)
			}
		}
	}
}

func TestSessionName(t *testing.T) {
	tests := []struct{ task, want string }{
		{"", "ecs-secret-injector"},
		{"0123456789abcdef0123456789abcdef", "ecs-secret-injector-0123456789abcdef0123456789abcdef"},
		{"a b/c", "ecs-secret-injector-a_b_c"},
		{strings.Repeat("x", 80), "ecs-secret-injector-" + strings.Repeat("x", 44)},
	}
	for _, tt := range tests {
		if got := SessionName(tt.task); got != tt.want {
			t.Errorf("SessionName(%q) = %q, want %q", tt.task, got, tt.want)
		}
	}
}
