package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// rounds splits fetches into the two rounds fetch makes: first every value
// that needs no SSE-C key (the keys among them), then the S3 objects read
// with one.
func rounds(fetches []plan.Fetch) (first, second []plan.Fetch) {
	for _, pf := range fetches {
		if pf.SSECustomerKey != nil {
			second = append(second, pf)
		} else {
			first = append(first, pf)
		}
	}
	return first, second
}

// fetch fetches the values of fetches in their two rounds. A key that
// fetches does not fetch is read from known (refresh mode fetches only what
// changed; known may be nil).
func fetch(ctx context.Context, fetches []plan.Fetch, f Fetcher, known sources.Values) (sources.Values, error) {
	first, second := rounds(fetches)
	values := sources.Values{}
	if len(first) > 0 {
		reqs, err := requests(first, nil)
		if err != nil {
			return nil, err
		}
		if values, err = f.Fetch(ctx, reqs); err != nil {
			return nil, err
		}
	}
	if len(second) == 0 {
		return values, nil
	}
	keys := values
	if len(known) > 0 {
		keys = maps.Clone(known)
		maps.Copy(keys, values)
	}
	reqs, err := requests(second, keysIn(keys))
	if err != nil {
		return nil, err
	}
	more, err := f.Fetch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	if values == nil {
		values = make(sources.Values, len(more))
	}
	maps.Copy(values, more)
	return values, nil
}

// keyFunc returns the SSE-C key that a reference selects.
type keyFunc func(r ref.Ref) ([]byte, error)

// requests makes the requests for fetches, each with the SSE-C key that
// key gives for its sseCustomerKey (key is not called for fetches without
// one, and may be nil when none has one).
func requests(fetches []plan.Fetch, key keyFunc) ([]sources.Request, error) {
	reqs := make([]sources.Request, len(fetches))
	for i, pf := range fetches {
		var k []byte
		if pf.SSECustomerKey != nil {
			var err error
			if k, err = key(*pf.SSECustomerKey); err != nil {
				return nil, &sources.Error{Ref: pf.Target.String(), Err: err}
			}
		}
		reqs[i] = request(pf, k)
	}
	return reqs, nil
}

// request is what the sources are asked for pf, with key as its SSE-C key
// (nil for none): the one place a plan.Fetch becomes a sources.Request.
func request(pf plan.Fetch, key []byte) sources.Request {
	return sources.Request{Target: pf.Target, AllowUnencrypted: pf.AllowUnencrypted, AllowEmpty: pf.AllowEmpty, SSECustomerKey: key,
		Role: sources.Role{ARN: pf.RoleARN, ExternalID: pf.ExternalID}, FailoverRegion: pf.FailoverRegion}
}

// keysIn reads SSE-C keys from fetched values: the base64 256-bit key that
// the reference selects.
func keysIn(values sources.Values) keyFunc {
	return func(r ref.Ref) ([]byte, error) {
		v, err := r.Extract(values[r.Target].Bytes())
		if err != nil {
			return nil, fmt.Errorf("sseCustomerKey: %w", err)
		}
		key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("sseCustomerKey %s must hold a base64-encoded 256-bit key", r.Raw)
		}
		return key, nil
	}
}
