package sources

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// ErrFetch is wrapped by every fetch error.
var ErrFetch = errors.New("fetch failed")

// Error is one failed fetch: which reference, which call, and what AWS (or
// the check that refused the answer) said. It never holds a value: Err is
// the SDK's error or a message written here, and AWS errors do not echo
// secret values.
type Error struct {
	// Ref names what was fetched: a reference, or several ids of one batch.
	Ref string
	// Service and Operation name the API call ("secretsmanager",
	// "GetSecretValue"); both are empty where no call failed (a value too
	// large, an unencrypted S3 object).
	Service, Operation string
	// Code is the AWS error code (ResourceNotFoundException, ...), if any.
	Code string
	// Retryable reports whether the SDK would retry the error: a later run
	// may succeed.
	Retryable bool
	// Err is the cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Operation != "" {
		fmt.Fprintf(&b, "%s %s of ", e.Service, e.Operation)
	}
	b.WriteString(e.Ref)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives ErrFetch, so that every fetch failure maps to one exit code,
// and the cause.
func (e *Error) Unwrap() []error { return []error{ErrFetch, e.Err} }

// callError describes err, returned by operation op of service svc for ref.
func callError(ref, svc, op string, err error) *Error {
	e := &Error{Ref: ref, Service: svc, Operation: op, Err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
	}
	e.Retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	return e
}

// valueError is a fetch that succeeded but whose answer is refused.
func valueError(ref string, format string, args ...any) *Error {
	return &Error{Ref: ref, Err: fmt.Errorf(format, args...)}
}
