package sources

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The SDK closes a request's body as soon as the answer's headers are in,
// while net/http's connection writer may still be reading that body to its
// end. smithy-go's closed body answers such a read through WriteTo with
// io.EOF as an error, and the writer then tears the connection down under
// the answer being read: the call fails with "use of closed network
// connection" and the SDK asks again, though the service answered. Without
// WriteTo the same read ends as an ordinary end of the body. plainBody hands
// the transport each attempt's body that way; the SDK's signing, checksums
// and rewinding for retries see the body as it was.

// plainBody is a deserialize-step middleware that gives the transport the
// request's stream without a WriteTo method.
type plainBody struct{}

func (plainBody) ID() string { return "InjectorPlainRequestBody" }

func (plainBody) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if s, ok := req.GetStream().(io.WriterTo); ok {
			var plain io.Reader = readOnly{s.(io.Reader)}
			if rs, ok := s.(io.ReadSeeker); ok {
				plain = readSeekOnly{rs}
			}
			r, err := req.SetStream(plain)
			if err != nil {
				return middleware.DeserializeOutput{}, middleware.Metadata{}, fmt.Errorf("request body: %w", err)
			}
			in.Request = r
		}
	}
	return next.HandleDeserialize(ctx, in)
}

// readOnly and readSeekOnly hide every method of a stream but these.
type (
	readOnly     struct{ io.Reader }
	readSeekOnly struct{ io.ReadSeeker }
)

// addPlainBody is an SDK API option that adds plainBody to an operation.
func addPlainBody(s *middleware.Stack) error {
	return s.Deserialize.Add(plainBody{}, middleware.After)
}
