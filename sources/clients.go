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

// scope is where and as whom calls go: a region and a role (none: the
// credentials of the configuration the Fetcher was made with).
type scope struct {
	Region string
	Role   Role
}

// clientFactory gives the client of one service in one scope.
type clientFactory interface {
	secretsManager(sc scope) secretsManagerAPI
	ssm(sc scope) ssmAPI
	s3(sc scope) s3API
}

// sdkClients builds SDK clients lazily, one per service, region and role,
// so that a run pays only for the services, regions and roles its spec
// uses. Clients of one role share its credentials (roles.go).
type sdkClients struct {
	base      aws.Config
	pathStyle bool
	roles     *roles

	mu  sync.Mutex
	sm  map[scope]secretsManagerAPI
	ps  map[scope]ssmAPI
	obj map[scope]s3API
}

func newSDKClients(cfg aws.Config, opts Options) *sdkClients {
	return &sdkClients{base: cfg, pathStyle: opts.S3PathStyle, roles: newRoles(cfg, opts),
		sm: map[scope]secretsManagerAPI{}, ps: map[scope]ssmAPI{}, obj: map[scope]s3API{}}
}

// client returns m[sc], building it with mk on first use.
func client[C any](c *sdkClients, m map[scope]C, sc scope, mk func(aws.Config) C) C {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := m[sc]; ok {
		return cl
	}
	cfg := c.base.Copy()
	cfg.Region = sc.Region
	if sc.Role.ARN != "" {
		cfg.Credentials = c.roles.credentials(sc.Role)
	}
	cl := mk(cfg)
	m[sc] = cl
	return cl
}

func (c *sdkClients) secretsManager(sc scope) secretsManagerAPI {
	return client(c, c.sm, sc, func(cfg aws.Config) secretsManagerAPI {
		return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.APIOptions = append(o.APIOptions, addPlainBody) })
	})
}

func (c *sdkClients) ssm(sc scope) ssmAPI {
	return client(c, c.ps, sc, func(cfg aws.Config) ssmAPI {
		return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.APIOptions = append(o.APIOptions, addPlainBody) })
	})
}

func (c *sdkClients) s3(sc scope) s3API {
	return client(c, c.obj, sc, func(cfg aws.Config) s3API {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = c.pathStyle })
	})
}
