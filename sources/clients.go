package sources

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// The sources depend on these narrow interfaces, which hold only the SDK
// calls they make; the SDK clients satisfy them, and unit tests drive the
// sources with fakes. The calls that are paged are the SDK's own paginator
// client interfaces, so that its paginators follow the pages.

type secretsManagerAPI interface {
	secretsmanager.BatchGetSecretValueAPIClient
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	// DescribeSecret gives a secret's versions and their stages, no value
	// (refresh mode's change check).
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	// ListSecrets gives the secrets under a prefix with their versions'
	// stages, no value (refresh mode's change check of a prefix).
	secretsmanager.ListSecretsAPIClient
}

type ssmAPI interface {
	// GetParameters serves both the fetch (WithDecryption) and refresh
	// mode's change check (without: only the Version is read).
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	ssm.GetParametersByPathAPIClient
}

type s3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	// HeadObject gives an object's ETag and version id, no body (refresh
	// mode's change check).
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// clientFactory gives the client of one service in one region.
type clientFactory interface {
	secretsManager(region string) secretsManagerAPI
	ssm(region string) ssmAPI
	s3(region string) s3API
}

// sdkClients builds SDK clients lazily, one per service and region, so that
// a run pays only for the services and regions its spec uses.
type sdkClients struct {
	base      aws.Config
	pathStyle bool

	mu  sync.Mutex
	sm  map[string]secretsManagerAPI
	ps  map[string]ssmAPI
	obj map[string]s3API
}

func newSDKClients(cfg aws.Config, s3PathStyle bool) *sdkClients {
	return &sdkClients{base: cfg, pathStyle: s3PathStyle,
		sm: map[string]secretsManagerAPI{}, ps: map[string]ssmAPI{}, obj: map[string]s3API{}}
}

// client returns m[region], building it with mk on first use.
func client[C any](c *sdkClients, m map[string]C, region string, mk func(aws.Config) C) C {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := m[region]; ok {
		return cl
	}
	cfg := c.base.Copy()
	cfg.Region = region
	cl := mk(cfg)
	m[region] = cl
	return cl
}

func (c *sdkClients) secretsManager(region string) secretsManagerAPI {
	return client(c, c.sm, region, func(cfg aws.Config) secretsManagerAPI { return secretsmanager.NewFromConfig(cfg) })
}

func (c *sdkClients) ssm(region string) ssmAPI {
	return client(c, c.ps, region, func(cfg aws.Config) ssmAPI { return ssm.NewFromConfig(cfg) })
}

func (c *sdkClients) s3(region string) s3API {
	return client(c, c.obj, region, func(cfg aws.Config) s3API {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = c.pathStyle })
	})
}
