package sources

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Roles: a request may be read as an IAM role (Request.Role), typically
// of another account. Each role's credentials come from sts:AssumeRole,
// through the SDK's AssumeRoleProvider, wrapped in one aws.CredentialsCache
// per role for the Fetcher's life: the role is assumed once per run, on
// its first call, and again only as its credentials near their expiry
// (refresh mode). The credentials stay inside the SDK's signer: no error
// or log holds them.

// Role is the IAM role a request is read as; the zero Role reads with
// the Fetcher's own credentials.
type Role struct {
	ARN string
	// ExternalID is sent as sts:ExternalId when assuming the role.
	ExternalID string
}

// SessionPrefix begins the session name of every assumed role, so that
// CloudTrail in the role's account says the injector assumed it; the
// task id follows where the ECS task metadata endpoint gives one.
const SessionPrefix = "ecs-secret-injector"

// renewBefore is how long before their expiry a role's credentials are
// renewed: a call never starts with credentials about to expire.
const renewBefore = 5 * time.Minute

// roles holds one credentials cache per role.
type roles struct {
	base      aws.Config
	lookupEnv func(string) (string, bool)

	mu    sync.Mutex
	cache map[Role]*aws.CredentialsCache
	sts   *sts.Client

	sessionOnce sync.Once
	session     string
}

func newRoles(cfg aws.Config, opts Options) *roles {
	return &roles{base: cfg, lookupEnv: opts.LookupEnv, cache: map[Role]*aws.CredentialsCache{}}
}

// credentials is the cached credentials provider of role.
func (r *roles) credentials(role Role) aws.CredentialsProvider {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cache[role]; ok {
		return c
	}
	if r.sts == nil {
		r.sts = sts.NewFromConfig(r.base)
	}
	c := aws.NewCredentialsCache(&assumeRole{r: r, role: role, client: r.sts}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = renewBefore
	})
	r.cache[role] = c
	return c
}

// assumeRole makes the role's AssumeRoleProvider on first use, once the
// session name (which may ask the task metadata endpoint) is known.
type assumeRole struct {
	r      *roles
	role   Role
	client *sts.Client

	once sync.Once
	p    *stscreds.AssumeRoleProvider
}

func (a *assumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	a.once.Do(func() {
		session := a.r.sessionName(ctx)
		a.p = stscreds.NewAssumeRoleProvider(a.client, a.role.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			if a.role.ExternalID != "" {
				o.ExternalID = aws.String(a.role.ExternalID)
			}
		})
	})
	return a.p.Retrieve(ctx)
}

// sessionName is SessionPrefix, and the task id when the task metadata
// endpoint (ECS_CONTAINER_METADATA_URI_V4) gives it.
func (r *roles) sessionName(ctx context.Context) string {
	r.sessionOnce.Do(func() {
		var uri string
		if r.lookupEnv != nil {
			uri, _ = r.lookupEnv("ECS_CONTAINER_METADATA_URI_V4")
		}
		r.session = SessionName(taskID(ctx, uri))
	})
	return r.session
}

// SessionName is the session name for a task id ("" for none): only the
// characters STS accepts, at most 64.
func SessionName(task string) string {
	name := SessionPrefix
	if task != "" {
		name += "-" + task
	}
	name = strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+=,.@_-", c) {
			return c
		}
		return '_'
	}, name)
	return name[:min(len(name), 64)]
}

// metadataTimeout bounds the one question to the task metadata endpoint;
// without an answer the session name has no task id.
const metadataTimeout = 2 * time.Second

// taskID asks the ECS task metadata endpoint at uri for the task's ARN
// and returns its id, or "" when there is no endpoint or no answer.
func taskID(ctx context.Context, uri string) string {
	if uri == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(uri, "/")+"/task", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var task struct{ TaskARN string }
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&task) != nil {
		return ""
	}
	_, id, _ := strings.Cut(task.TaskARN, ":task/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return id
}
