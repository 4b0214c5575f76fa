package sources

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// getObject fetches one S3 object and refuses it unless it was stored
// encrypted (SSE-S3, SSE-KMS or SSE-C) or the request allows plaintext.
func (f *Fetcher) getObject(client *s3.Client, r Request) call {
	t := r.Target
	return func(ctx context.Context, out *result) error {
		in := &s3.GetObjectInput{Bucket: aws.String(t.ID), Key: aws.String(t.Key)}
		if t.VersionID != "" {
			in.VersionId = aws.String(t.VersionID)
		}
		if r.SSECustomerKey != nil {
			if len(r.SSECustomerKey) != 32 {
				return fmt.Errorf("%s: SSE-C key must be 32 bytes, got %d", t, len(r.SSECustomerKey))
			}
			sum := md5.Sum(r.SSECustomerKey)
			in.SSECustomerAlgorithm = aws.String("AES256")
			in.SSECustomerKey = aws.String(base64.StdEncoding.EncodeToString(r.SSECustomerKey))
			in.SSECustomerKeyMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
		}
		resp, err := client.GetObject(ctx, in)
		if err != nil {
			return fmt.Errorf("s3 GetObject of %s: %w", t, err)
		}
		defer resp.Body.Close()
		encrypted := resp.ServerSideEncryption != "" || aws.ToString(resp.SSECustomerAlgorithm) != ""
		if !encrypted && !r.AllowUnencrypted {
			return fmt.Errorf("%s: object is not stored with server-side encryption (set allowUnencrypted to accept it)", t)
		}
		if resp.ContentLength != nil && *resp.ContentLength > f.opts.MaxValueBytes {
			return f.checkSize(t, int(*resp.ContentLength))
		}
		v, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxValueBytes+1))
		if err != nil {
			return fmt.Errorf("s3 GetObject of %s: reading body: %w", t, err)
		}
		if err := f.checkSize(t, len(v)); err != nil {
			return err
		}
		if resp.ContentLength != nil && int64(len(v)) != *resp.ContentLength {
			return fmt.Errorf("s3 GetObject of %s: %w: got %d of %d bytes", t, io.ErrUnexpectedEOF, len(v), *resp.ContentLength)
		}
		out.put(t, v)
		return nil
	}
}
