package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-secret-injector/injector/ref"
)

// Failover: a request with a FailoverRegion is read, when its own region
// is unavailable, from the same name in the failover region: a Secrets
// Manager replica (same name; its ARN differs in the region only) or an
// SSM parameter a team keeps under the same name there. S3 objects never
// fail over: bucket names are global, so no other region holds the same
// bucket.
//
// Only an outage fails over (Outage): no answer (a connection that fails,
// a timeout) or an answer that says the service could not serve (a 5xx,
// throttling), once the SDK's retries are spent. Any refusal is an answer,
// and final: access denied, a secret not found or deleted, a KMS denial, a
// validation error, a decryption failure. Reading a replica then would let
// a revoked grant, a deleted secret or a disabled key come back from
// another region, which the owner of the secret did not allow.
//
// The budget: the run's deadline (INJECTOR_TIMEOUT) bounds both. The
// primary region gets at most half of the time left when its call starts
// (retries included); the failover region gets whatever is left after the
// primary gave up. A primary that hangs thus leaves the failover at least
// half of the time. Without a deadline the primary has the SDK's retries
// alone for a bound.

// failsOver marks the sources whose requests can fail over.
type failsOver interface{ failsOver() }

func (secretsManagerSource) failsOver() {}
func (ssmSource) failsOver()            {}
func (ssmPathSource) failsOver()        {}

// replicaRequests are reqs as they name their targets in region, and the
// map from each replica target back to the request's own.
func replicaRequests(reqs []Request, region string) ([]Request, map[ref.Target]ref.Target) {
	out := make([]Request, len(reqs))
	back := make(map[ref.Target]ref.Target, len(reqs))
	for i, r := range reqs {
		out[i] = r
		out[i].Target = ReplicaTarget(r.Target, region)
		back[out[i].Target] = r.Target
	}
	return out, back
}

// ReplicaTarget is t as it is named in region: an ARN with that region, a
// name as it is.
func ReplicaTarget(t ref.Target, region string) ref.Target {
	t.Region = region
	if a, err := arn.Parse(t.ID); err == nil {
		a.Region = region
		t.ID = a.String()
	}
	return t
}

// withFailover makes each primary call fall back to the matching replica
// call (the same requests, in region failover) on an outage.
func (f *Fetcher) withFailover(primary, replicas []call, back map[ref.Target]ref.Target, region, failover string) []call {
	if len(primary) != len(replicas) {
		return primary // not expected: the same requests make as many calls
	}
	out := make([]call, len(primary))
	for i, c := range primary {
		rep := replicas[i]
		c.FailoverRegion, c.FailoverTargets = failover, rep.Targets
		first := c.do
		c.do = func(ctx context.Context, res *result) error {
			pctx, cancel := primaryBudget(ctx)
			err := first(pctx, res)
			cancel()
			if err == nil || ctx.Err() != nil || !Outage(err) {
				return err
			}
			got := &result{values: Values{}, versions: Versions{}}
			if ferr := rep.do(ctx, got); ferr != nil {
				return errors.Join(err, fmt.Errorf("failover to %s: %w", failover, ferr))
			}
			for t, v := range got.values {
				if res.values != nil {
					res.put(back[t], v)
				}
			}
			for t, v := range got.versions {
				if res.versions != nil {
					res.putVersion(back[t], v)
				}
			}
			for _, t := range c.Targets {
				res.serve(t, failover)
				if f.opts.Log != nil {
					f.opts.Log.Warn("read from the failover region: its own region is unavailable",
						"ref", t.String(), "region", failover, "unavailable", region, "error", err.Error())
				}
			}
			return nil
		}
		out[i] = c
	}
	return out
}

// primaryBudget is the context of a primary call: at most half of the
// time left before ctx's deadline.
func primaryBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(dl)/2)
}

// asRole makes the errors of do name role.
func asRole(role string, do func(context.Context, *result) error) func(context.Context, *result) error {
	return func(ctx context.Context, out *result) error {
		if err := do(ctx, out); err != nil {
			return fmt.Errorf("as role %s: %w", role, err)
		}
		return nil
	}
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// Outage reports whether err, the error of a call once its retries are
// spent, means that the region did not serve (see the rule above): no
// answer, a timeout, a 5xx or throttling. Any other answer is a refusal;
// so is a failure to assume a role (the same in every region) and every
// check of an answer made here.
func Outage(err error) bool {
	if err == nil || errors.Is(err, errAnswerTooLarge) || fromSTS(err) {
		return false
	}
	if throttles.IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	// No answer: the request was not sent or its answer not read, or the
	// time ran out. (The SDK wraps these in a ResponseError of status 0.)
	if _, ok := errors.AsType[*smithyhttp.RequestSendError](err); ok {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if re, ok := errors.AsType[*smithyhttp.ResponseError](err); ok && re.HTTPStatusCode() >= 500 {
		return true
	}
	// Any other answer, with an error code or without, is a refusal.
	return false
}

// fromSTS reports whether err came from STS: assuming the call's role.
func fromSTS(err error) bool {
	for e := err; e != nil; {
		op, ok := errors.AsType[*smithy.OperationError](e)
		if !ok {
			return false
		}
		if op.ServiceID == "STS" {
			return true
		}
		e = op.Err
	}
	return false
}
