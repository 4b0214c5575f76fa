package sources

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeAWS stands in for every service in every region. Its secrets,
// parameters and objects are keyed by id; its hooks let a test fail or
// shape any call. It records the calls it gets.
type fakeAWS struct {
	mu      sync.Mutex
	calls   []string // "region Operation"
	regions map[string]int

	secrets               map[string]fakeSecret          // by name
	params                map[string]ssmtypes.Parameter  // by name; Value set
	objects               map[string]*s3.GetObjectOutput // by bucket/key; Body set per call from body
	bodies                map[string]string              // by bucket/key
	pageAt                int                            // BatchGetSecretValue answers at most this many per page (0: all)
	sloppyPath            bool                           // GetParametersByPath also answers names that only share the path's text
	fail                  func(region, op string) error  // an error for this call, or nil
	inFlight, maxInFlight atomic.Int32
	block                 chan struct{}     // if set, every call waits for it (or ctx)
	headKeys              map[string]string // by bucket/key: the SSE-C key HeadObject was given
	// reshapeBatch, if set, changes each BatchGetSecretValue answer before it is returned.
	reshapeBatch func(out *secretsmanager.BatchGetSecretValueOutput)
}

type fakeSecret struct {
	arn, versionID string
	stages         []string
	others         map[string][]string // other versions' stages, by version id
	str            *string
	bin            []byte
	batchError     string // error code BatchGetSecretValue reports for it
}

func newFake() *fakeAWS {
	return &fakeAWS{regions: map[string]int{}, secrets: map[string]fakeSecret{},
		params: map[string]ssmtypes.Parameter{}, objects: map[string]*s3.GetObjectOutput{}, bodies: map[string]string{},
		headKeys: map[string]string{}}
}

func (f *fakeAWS) addSecret(name, value string) {
	f.secrets[name] = fakeSecret{arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:" + name + "-AbCdEf",
		versionID: "v-" + name, stages: []string{"AWSCURRENT"}, str: aws.String(value)}
}

func (f *fakeAWS) addParam(name, value string, version int64) {
	f.params[name] = ssmtypes.Parameter{Name: aws.String(name), Value: aws.String(value), Version: version,
		ARN: aws.String("arn:aws:ssm:us-east-1:111122223333:parameter" + name)}
}

func (f *fakeAWS) addObject(bucket, key, body string, sse bool) {
	out := &s3.GetObjectOutput{ContentLength: aws.Int64(int64(len(body))), ETag: aws.String(`"etag-` + key + `"`), VersionId: aws.String("ov1")}
	if sse {
		out.ServerSideEncryption = "aws:kms"
	}
	f.objects[bucket+"/"+key] = out
	f.bodies[bucket+"/"+key] = body
}

// begin records a call and applies the hooks.
func (f *fakeAWS) begin(ctx context.Context, region, op string) (func(), error) {
	n := f.inFlight.Add(1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	done := func() { f.inFlight.Add(-1) }
	f.mu.Lock()
	f.calls = append(f.calls, region+" "+op)
	fail, block := f.fail, f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			done()
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(region, op); err != nil {
			done()
			return nil, err
		}
	}
	return done, nil
}

func (f *fakeAWS) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// The factory hands out one client per service and region, counting how
// many it built.
func (f *fakeAWS) client(region string) fakeClient {
	f.mu.Lock()
	f.regions[region]++
	f.mu.Unlock()
	return fakeClient{f, region}
}
func (f *fakeAWS) secretsManager(sc scope) secretsManagerAPI { return f.client(sc.Region) }
func (f *fakeAWS) ssm(sc scope) ssmAPI                       { return f.client(sc.Region) }
func (f *fakeAWS) s3(sc scope) s3API                         { return f.client(sc.Region) }

type fakeClient struct {
	f      *fakeAWS
	region string
}

func (c fakeClient) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	done, err := c.f.begin(ctx, c.region, "BatchGetSecretValue")
	if err != nil {
		return nil, err
	}
	defer done()
	ids := in.SecretIdList
	if in.Filters != nil {
		ids = c.f.filtered(in.Filters)
	}
	start := 0
	if in.NextToken != nil {
		start = len(*in.NextToken) // the token is that many dots
	}
	end := len(ids)
	if c.f.pageAt > 0 && start+c.f.pageAt < end {
		end = start + c.f.pageAt
	}
	out := &secretsmanager.BatchGetSecretValueOutput{}
	for _, id := range ids[start:end] {
		s, ok := c.f.lookupSecret(id)
		switch {
		case !ok:
			out.Errors = append(out.Errors, smtypes.APIErrorType{SecretId: aws.String(id), ErrorCode: aws.String("ResourceNotFoundException"), Message: aws.String("Secrets Manager can't find the specified secret.")})
		case s.batchError != "":
			out.Errors = append(out.Errors, smtypes.APIErrorType{SecretId: aws.String(id), ErrorCode: aws.String(s.batchError), Message: aws.String("refused")})
		default:
			out.SecretValues = append(out.SecretValues, smtypes.SecretValueEntry{ARN: aws.String(s.arn), Name: aws.String(nameOf(s.arn)),
				SecretString: s.str, SecretBinary: s.bin, VersionId: aws.String(s.versionID), VersionStages: s.stages})
		}
	}
	if end < len(ids) {
		out.NextToken = aws.String(strings.Repeat(".", end))
	}
	if c.f.reshapeBatch != nil {
		c.f.reshapeBatch(out)
	}
	return out, nil
}

func nameOf(arn string) string {
	n := arn[strings.LastIndex(arn, ":secret:")+len(":secret:"):]
	return n[:len(n)-len("-AbCdEf")]
}

func (f *fakeAWS) lookupSecret(id string) (fakeSecret, bool) {
	for name, s := range f.secrets {
		if secretMatches(id, s.arn, name) {
			return s, true
		}
	}
	return fakeSecret{}, false
}

func (c fakeClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	done, err := c.f.begin(ctx, c.region, "GetSecretValue")
	if err != nil {
		return nil, err
	}
	defer done()
	s, ok := c.f.lookupSecret(aws.ToString(in.SecretId))
	if !ok || (in.VersionId != nil && *in.VersionId != s.versionID) {
		return nil, apiError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value")
	}
	return &secretsmanager.GetSecretValueOutput{ARN: aws.String(s.arn), Name: aws.String(nameOf(s.arn)),
		SecretString: s.str, SecretBinary: s.bin, VersionId: aws.String(s.versionID), VersionStages: s.stages}, nil
}

// GetParameters is recorded as GetParameters when it decrypts (a fetch)
// and as GetParametersNoDecryption when it does not (a change check).
func (c fakeClient) GetParameters(ctx context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	op := "GetParameters"
	if !aws.ToBool(in.WithDecryption) {
		op = "GetParametersNoDecryption"
	}
	done, err := c.f.begin(ctx, c.region, op)
	if err != nil {
		return nil, err
	}
	defer done()
	if len(in.Names) > 10 {
		return nil, apiError("ValidationException", "bad request")
	}
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if p, ok := c.f.params[n]; ok {
			out.Parameters = append(out.Parameters, p)
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

// GetParametersByPath answers like SSM: names below the path at any depth
// (Recursive must be set), MaxResults at most 10 (the default), a page
// token that is the offset.
func (c fakeClient) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	done, err := c.f.begin(ctx, c.region, "GetParametersByPath")
	if err != nil {
		return nil, err
	}
	defer done()
	path := aws.ToString(in.Path)
	if !aws.ToBool(in.Recursive) || (path != "/" && strings.HasSuffix(path, "/")) {
		return nil, apiError("ValidationException", "bad request")
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	var names []string
	for n := range c.f.params {
		// A sloppy service would answer /app/production/x for /app/prod:
		// the fake does when sloppy is set.
		if strings.HasPrefix(n, prefix) || (c.f.sloppyPath && strings.HasPrefix(n, strings.TrimSuffix(prefix, "/"))) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+10, len(names))
	out := &ssm.GetParametersByPathOutput{}
	for _, n := range names[start:end] {
		p := c.f.params[n]
		if !aws.ToBool(in.WithDecryption) {
			p.Value = aws.String("ciphertext-of-" + n) // as SSM answers a SecureString
		}
		out.Parameters = append(out.Parameters, p)
	}
	if end < len(names) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (c fakeClient) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	done, err := c.f.begin(ctx, c.region, "GetObject")
	if err != nil {
		return nil, err
	}
	defer done()
	k := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
	o, ok := c.f.objects[k]
	if !ok {
		return nil, apiError("NoSuchKey", "The specified key does not exist.")
	}
	if in.VersionId != nil && *in.VersionId != aws.ToString(o.VersionId) {
		return nil, apiError("NoSuchVersion", "The specified version does not exist.")
	}
	out := *o
	if in.SSECustomerKey != nil {
		out.SSECustomerAlgorithm = in.SSECustomerAlgorithm
		out.ServerSideEncryption = ""
	}
	out.Body = io.NopCloser(strings.NewReader(c.f.bodies[k]))
	return &out, nil
}

func (c fakeClient) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	done, err := c.f.begin(ctx, c.region, "DescribeSecret")
	if err != nil {
		return nil, err
	}
	defer done()
	s, ok := c.f.lookupSecret(aws.ToString(in.SecretId))
	if !ok {
		return nil, apiError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	stages := map[string][]string{s.versionID: s.stages}
	for id, st := range s.others {
		stages[id] = st
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String(s.arn), Name: aws.String(nameOf(s.arn)), VersionIdsToStages: stages}, nil
}

func (c fakeClient) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	done, err := c.f.begin(ctx, c.region, "HeadObject")
	if err != nil {
		return nil, err
	}
	defer done()
	k := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
	o, ok := c.f.objects[k]
	if !ok {
		return nil, apiError("NotFound", "Not Found")
	}
	c.f.mu.Lock()
	c.f.headKeys[k] = aws.ToString(in.SSECustomerKey)
	c.f.mu.Unlock()
	return &s3.HeadObjectOutput{ETag: o.ETag, VersionId: o.VersionId, ContentLength: o.ContentLength, ServerSideEncryption: o.ServerSideEncryption}, nil
}

func apiError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}

// throttled is what the SDK returns once its retries give up on throttling.
func throttled() error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
		Err:      &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
	}
}

var errBoom = errors.New("connection reset by peer")

// filtered lists, sorted, the names of the secrets a name filter selects:
// as the service does, by prefix without regard to case.
func (f *fakeAWS) filtered(filters []smtypes.Filter) []string {
	var names []string
	for name := range f.secrets {
		for _, flt := range filters {
			for _, v := range flt.Values {
				if flt.Key == smtypes.FilterNameStringTypeName && strings.HasPrefix(strings.ToLower(name), strings.ToLower(v)) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

func (c fakeClient) ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	done, err := c.f.begin(ctx, c.region, "ListSecrets")
	if err != nil {
		return nil, err
	}
	defer done()
	names := c.f.filtered(in.Filters)
	start := 0
	if in.NextToken != nil {
		start = len(*in.NextToken)
	}
	end := len(names)
	if c.f.pageAt > 0 && start+c.f.pageAt < end {
		end = start + c.f.pageAt
	}
	out := &secretsmanager.ListSecretsOutput{}
	for _, name := range names[start:end] {
		s := c.f.secrets[name]
		stages := map[string][]string{s.versionID: s.stages}
		for id, st := range s.others {
			stages[id] = st
		}
		out.SecretList = append(out.SecretList, smtypes.SecretListEntry{ARN: aws.String(s.arn), Name: aws.String(name), SecretVersionsToStages: stages})
	}
	if end < len(names) {
		out.NextToken = aws.String(strings.Repeat(".", end))
	}
	return out, nil
}
