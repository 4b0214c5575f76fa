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
	// parametersBatch is the most names one GetParameters call takes, and
	// the most parameters one GetParametersByPath page holds.
	parametersBatch = 10
)

// ssmSource reads SSM Parameter Store, 10 parameters to a GetParameters call.
type ssmSource struct{ awsService }

func (ssmSource) calls(f *Fetcher, sc scope, reqs []Request) []call {
	return f.parameterCalls(sc, reqs, f.fetchParameters)
}

// fixed: a parameter version number never moves; a label can.
func (ssmSource) fixed(t ref.Target) bool {
	_, sel := ref.SplitSelector(t.ID)
	return sel != "" && strings.Trim(sel, "0123456789") == ""
}

func (ssmSource) versionChecks(f *Fetcher, sc scope, reqs []Request) []call {
	return f.parameterCalls(sc, reqs, f.parameterVersions)
}

// parameterCalls makes one call of mk per 10 parameters of a region.
func (f *Fetcher) parameterCalls(sc scope, reqs []Request, mk func(ssmAPI, []ref.Target) call) []call {
	client := f.clients.ssm(sc)
	var calls []call
	for chunk := range slices.Chunk(reqs, parametersBatch) {
		targets := make([]ref.Target, len(chunk))
		for i, r := range chunk {
			targets[i] = r.Target
		}
		calls = append(calls, mk(client, targets))
	}
	return calls
}

// fetchParameters fetches up to 10 parameters in one call, decrypting
// SecureString values.
func (f *Fetcher) fetchParameters(client ssmAPI, targets []ref.Target) call {
	desc := Call{Service: ssmService, Operation: opGetParameters, Targets: targets, KMS: true, Note: "up to 10 names, with decryption"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		return f.getParameters(ctx, client, targets, true, func(t ref.Target, p types.Parameter, found bool) error {
			if !found {
				return &Error{Ref: t.ID, Service: ssmService, Operation: opGetParameters,
					Code: "InvalidParameters", Err: errors.New("parameter not found or not readable")}
			}
			v := []byte(aws.ToString(p.Value))
			if err := f.checkSize(t, int64(len(v))); err != nil {
				return err
			}
			out.put(t, secret.New(v, secret.Version{ID: strconv.FormatInt(p.Version, 10)}))
			return nil
		})
	}}
}

// parameterVersions reads the Version of up to 10 parameters in one call,
// without decryption.
func (f *Fetcher) parameterVersions(client ssmAPI, targets []ref.Target) call {
	desc := Call{Service: ssmService, Operation: opGetParameters, Targets: targets, Note: "versions only, without decryption"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		return f.getParameters(ctx, client, targets, false, func(t ref.Target, p types.Parameter, found bool) error {
			if !found {
				return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParameters,
					Code: "InvalidParameters", Err: errors.New("parameter not found or not readable")}
			}
			out.putVersion(t, secret.Version{ID: strconv.FormatInt(p.Version, 10)})
			return nil
		})
	}}
}

// getParameters makes one GetParameters call for targets (at most 10),
// decrypting SecureString values if decrypt, and calls visit with each
// target and the parameter that answers it (found is false when none
// does). It returns the call's error, or every error visit returned.
func (f *Fetcher) getParameters(ctx context.Context, client ssmAPI, targets []ref.Target, decrypt bool, visit func(t ref.Target, p types.Parameter, found bool) error) error {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.ID
	}
	resp, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(decrypt)},
		ssmBound(f.valuesBound(len(names))))
	if err != nil {
		return f.answerError(strings.Join(names, ", "), targets, ssmService, opGetParameters, err)
	}
	var errs []error
	for _, t := range targets {
		p, found := findParameter(t.ID, resp.Parameters)
		if err := visit(t, p, found); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ssmBound bounds the answer of an SSM call (see answerBound).
func ssmBound(bound int64) func(*ssm.Options) {
	return func(o *ssm.Options) { o.APIOptions = append(o.APIOptions, addBound(bound)) }
}

// findParameter finds the parameter answering a requested name or ARN, with
// or without a :version or :label selector. Some implementations leave out
// Selector in the answer; then a numeric selector is matched by Version and a
// label by the name alone when only one answer has that name.
func findParameter(id string, params []types.Parameter) (types.Parameter, bool) {
	base, sel := ref.SplitSelector(id)
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
