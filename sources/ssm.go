package sources

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const (
	ssmService      = "ssm"
	opGetParameters = "GetParameters"
)

// ssmSource reads SSM Parameter Store, 10 parameters to a GetParameters call.
type ssmSource struct{ awsService }

func (ssmSource) calls(f *Fetcher, region string, reqs []Request) []call {
	return f.parameterCalls(region, reqs, f.getParameters)
}

// getParameters fetches up to 10 parameters in one call, decrypting
// SecureString values.
func (f *Fetcher) getParameters(client ssmAPI, targets []ref.Target) call {
	return func(ctx context.Context, out *result) error {
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = t.ID
		}
		resp, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
		if err != nil {
			return callError(strings.Join(names, ", "), ssmService, opGetParameters, err)
		}
		if len(resp.InvalidParameters) > 0 {
			return &Error{Ref: strings.Join(resp.InvalidParameters, ", "), Service: ssmService, Operation: opGetParameters,
				Code: "InvalidParameters", Err: errors.New("parameters not found or not readable")}
		}
		for _, t := range targets {
			p, ok := findParameter(t.ID, resp.Parameters)
			if !ok {
				return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParameters, Err: errors.New("not returned")}
			}
			v := []byte(aws.ToString(p.Value))
			if err := f.checkSize(t, int64(len(v))); err != nil {
				return err
			}
			out.put(t, secret.New(v, secret.Version{ID: strconv.FormatInt(p.Version, 10)}))
		}
		return nil
	}
}

// findParameter finds the parameter answering a requested name or ARN, with
// or without a :version or :label selector. Some implementations leave out
// Selector in the answer; then a numeric selector is matched by Version and a
// label by the name alone when only one answer has that name.
func findParameter(id string, params []types.Parameter) (types.Parameter, bool) {
	base, sel := splitSelector(id)
	var loose, plain []types.Parameter
	for _, p := range params {
		if base != aws.ToString(p.Name) && base != aws.ToString(p.ARN) {
			continue
		}
		got := aws.ToString(p.Selector)
		switch {
		case got == "" && sel == "":
			plain = append(plain, p)
		case sel == "":
		case got == ":"+sel:
			return p, true
		case got == "" && strconv.FormatInt(p.Version, 10) == sel:
			return p, true
		case got == "":
			loose = append(loose, p)
		}
	}
	if len(plain) > 0 {
		// Without Selector in the answer, an unselected request and a
		// selected one for the same name both look unselected: the newest
		// version answers the unselected request.
		return slices.MaxFunc(plain, func(a, b types.Parameter) int { return cmp.Compare(a.Version, b.Version) }), true
	}
	if len(loose) == 1 {
		return loose[0], true
	}
	return types.Parameter{}, false
}

// splitSelector splits "name:selector" (or an ARN's "parameter/name:selector").
// Parameter names cannot hold a colon, so the selector follows the first one
// after the ARN's resource prefix.
func splitSelector(id string) (base, selector string) {
	start := 0
	if strings.HasPrefix(id, "arn:") {
		if i := strings.Index(id, ":parameter/"); i >= 0 {
			start = i + len(":parameter/")
		}
	}
	if i := strings.IndexByte(id[start:], ':'); i >= 0 {
		return id[:start+i], id[start+i+1:]
	}
	return id, ""
}
