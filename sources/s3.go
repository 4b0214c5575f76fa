package sources

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const (
	s3Service    = "s3"
	opGetObject  = "GetObject"
	opHeadObject = "HeadObject"
)

// s3Source reads S3 objects, one GetObject call each.
type s3Source struct{ awsService }

func (s3Source) calls(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.s3(sc)
	return eachRequest(reqs, func(r Request) call { return f.getObject(client, r) })
}

// fixed: an object version id never moves.
func (s3Source) fixed(t ref.Target) bool { return t.VersionID != "" }

func (s3Source) versionChecks(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.s3(sc)
	return eachRequest(reqs, func(r Request) call { return headObject(client, r) })
}

// getObject fetches one S3 object and refuses it unless it was stored
// encrypted (SSE-S3, SSE-KMS or SSE-C) or the request allows plaintext.
func (f *Fetcher) getObject(client s3API, r Request) call {
	t := r.Target
	desc := Call{Service: s3Service, Operation: opGetObject, Targets: []ref.Target{t},
		KMS: r.SSECustomerKey == nil, SSECustomerKey: r.SSECustomerKey != nil, Version: t.VersionID != ""}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		in := &s3.GetObjectInput{Bucket: aws.String(t.ID), Key: aws.String(t.Key)}
		if t.VersionID != "" {
			in.VersionId = aws.String(t.VersionID)
		}
		if r.SSECustomerKey != nil {
			if len(r.SSECustomerKey) != 32 {
				return valueError(t.String(), "SSE-C key must be 32 bytes, got %d", len(r.SSECustomerKey))
			}
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = sseCHeaders(r.SSECustomerKey)
		}
		resp, err := client.GetObject(ctx, in)
		if err != nil {
			return callError(t.String(), s3Service, opGetObject, err)
		}
		defer resp.Body.Close()
		encrypted := resp.ServerSideEncryption != "" || aws.ToString(resp.SSECustomerAlgorithm) != ""
		if !encrypted && !r.AllowUnencrypted {
			return valueError(t.String(), "object is not stored with server-side encryption (set allowUnencrypted to accept it)")
		}
		if resp.ContentLength != nil {
			if err := f.checkSize(t, *resp.ContentLength); err != nil {
				return err
			}
		}
		v, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxValueBytes+1))
		if err != nil {
			return callError(t.String(), s3Service, opGetObject, fmt.Errorf("reading body: %w", err))
		}
		if err := f.checkSize(t, int64(len(v))); err != nil {
			return err
		}
		if resp.ContentLength != nil && int64(len(v)) != *resp.ContentLength {
			return callError(t.String(), s3Service, opGetObject, fmt.Errorf("%w: got %d of %d bytes", io.ErrUnexpectedEOF, len(v), *resp.ContentLength))
		}
		out.put(t, secret.New(v, secret.Version{ID: aws.ToString(resp.VersionId), ETag: aws.ToString(resp.ETag)}))
		return nil
	}}
}

// headObject reads an object's ETag and version id. An SSE-C object needs
// its key for that too.
func headObject(client s3API, r Request) call {
	t := r.Target
	desc := Call{Service: s3Service, Operation: opHeadObject, Targets: []ref.Target{t},
		SSECustomerKey: r.SSECustomerKey != nil, Note: "ETag and version id, no body"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		in := &s3.HeadObjectInput{Bucket: aws.String(t.ID), Key: aws.String(t.Key)}
		if r.SSECustomerKey != nil {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = sseCHeaders(r.SSECustomerKey)
		}
		resp, err := client.HeadObject(ctx, in)
		if err != nil {
			return callError(t.String(), s3Service, opHeadObject, err)
		}
		out.putVersion(t, secret.Version{ID: aws.ToString(resp.VersionId), ETag: aws.ToString(resp.ETag)})
		return nil
	}}
}

// sseCHeaders gives the SSE-C algorithm, key and key MD5 headers for key.
func sseCHeaders(key []byte) (algorithm, b64Key, b64MD5 *string) {
	sum := md5.Sum(key)
	return aws.String("AES256"), aws.String(base64.StdEncoding.EncodeToString(key)), aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}
