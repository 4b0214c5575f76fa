package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-secret-injector/injector/ref"
)

// Answers are bounded as they are read from the network: the SDK decodes a
// Secrets Manager or SSM answer whole, so a value far larger than
// Options.MaxValueBytes would otherwise be held in memory several times over
// before its size could be checked. (S3 bodies are streamed and read through
// a limit already.)

// Per answer, what besides the values an honest answer holds: for each entry
// its name, ARN, version id, staging labels, type, dates (or an error code and
// message), and the answer's own envelope.
const answerEntryOverhead = 64 << 10

// jsonExpansion is how many bytes one byte of a value can take in a JSON
// answer: a control character is written \u00XX. (A binary value is base64,
// four bytes for three; a non-ASCII character escaped as \uXXXX takes at most
// three bytes for each of its UTF-8 bytes.)
const jsonExpansion = 6

// answerBound is the most bytes an honest answer can take that carries
// entries entries whose values hold at most valueBytes bytes together: any
// larger answer holds a value larger than the limit, and reading stops there.
func answerBound(valueBytes int64, entries int) int64 {
	overhead := int64(entries+1) * answerEntryOverhead
	if valueBytes > (math.MaxInt64-overhead)/jsonExpansion {
		return math.MaxInt64
	}
	return valueBytes*jsonExpansion + overhead
}

// valuesBound is answerBound for n values each within the Fetcher's limit.
func (f *Fetcher) valuesBound(n int) int64 {
	if f.opts.MaxValueBytes > math.MaxInt64/int64(n) {
		return math.MaxInt64
	}
	return answerBound(f.opts.MaxValueBytes*int64(n), n)
}

// errAnswerTooLarge is wrapped by the error of a call whose answer is larger
// than its bound.
var errAnswerTooLarge = errors.New("answer is too large")

// answerTooLargeError is what reading an answer past its bound returns.
type answerTooLargeError struct{ bound int64 }

func (e *answerTooLargeError) Error() string {
	return fmt.Sprintf("answer is larger than %d bytes", e.bound)
}

func (*answerTooLargeError) Unwrap() error { return errAnswerTooLarge }

// RetryableError tells the SDK's retryer not to ask again: the answer would
// be as large.
func (*answerTooLargeError) RetryableError() bool { return false }

// boundAnswer is a deserialize-step middleware that makes the raw HTTP
// answer's body fail once more than its bound is read. Added at the end of
// the step, it sits between the transport and the operation's deserializer.
type boundAnswer struct{ bound int64 }

func (boundAnswer) ID() string { return "InjectorBoundAnswer" }

func (m boundAnswer) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.Body != nil {
		b := &boundedBody{r: resp.Body, left: m.bound, bound: m.bound}
		if resp.ContentLength > m.bound {
			b.err = &answerTooLargeError{bound: m.bound}
		}
		resp.Body = b
	}
	return out, md, err
}

// addBound returns an SDK API option that bounds an operation's answer.
func addBound(bound int64) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Deserialize.Add(boundAnswer{bound: bound}, middleware.After)
	}
}

// boundedBody reads r until bound bytes are read, then fails with an
// answerTooLargeError if there is more.
type boundedBody struct {
	r           io.ReadCloser
	left, bound int64
	err         error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// One byte past what is left tells a body that ends at its bound from
	// one that goes on.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = &answerTooLargeError{bound: b.bound}
	return n, b.err
}

func (b *boundedBody) Close() error { return b.r.Close() }

// answerError describes err, returned by operation op of service svc for
// callRef (the reference, or the ids of a batch) reading targets: an answer
// past its bound holds a value larger than the limit, and for one target
// says so as the size check of a decoded value does.
func (f *Fetcher) answerError(callRef string, targets []ref.Target, svc, op string, err error) *Error {
	if !errors.Is(err, errAnswerTooLarge) {
		return callError(callRef, svc, op, err)
	}
	if len(targets) == 1 {
		return f.tooLarge(targets[0])
	}
	var tooLarge *answerTooLargeError
	errors.As(err, &tooLarge)
	return &Error{Ref: callRef, Service: svc, Operation: op,
		Err: fmt.Errorf("%w: a value in it is larger than %d bytes", tooLarge, f.opts.MaxValueBytes)}
}
