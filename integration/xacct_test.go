package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecs-secret-injector/injector/engine/status"
)

// Roles and failover against moto: moto's STS answers AssumeRole with
// fresh credentials for any role; a proxy in front of it records which
// access key signed each request, so that the tests see the assumed
// credentials used, and routes by the region of each request's SigV4
// credential scope, so that one moto stands in for a region that is down
// and one that answers.

// signed is one request as the proxy saw it.
type signed struct {
	op, key, region, service string
	body                     string
}

// stsLog records the requests of a proxy, and the credentials each
// AssumeRole answer gave, by role.
type stsLog struct {
	mu       sync.Mutex
	reqs     []signed
	issued   map[string]string // access key id -> role ARN
	secrets  []string          // secret access keys and session tokens issued
	sessions []string          // RoleSessionName of each AssumeRole
}

var credentialScope = regexp.MustCompile(`Credential=([^/]+)/[0-9]+/([^/]+)/([^/]+)/aws4_request`)

// peek reads r's body and puts it back.
func peek(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return string(body)
}

// scope is the access key, region and service of r's signature.
func scope(r *http.Request) (key, region, service string) {
	m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", "", ""
	}
	return m[1], m[2], m[3]
}

func (l *stsLog) observe(r *http.Request) {
	key, region, service := scope(r)
	s := signed{op: opName(r), key: key, region: region, service: service, body: peek(r)}
	if service == "sts" {
		form, _ := url.ParseQuery(s.body)
		s.op = form.Get("Action")
		l.mu.Lock()
		l.sessions = append(l.sessions, form.Get("RoleSessionName"))
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, s)
}

var (
	xmlAccessKey = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	xmlSecretKey = regexp.MustCompile(`<SecretAccessKey>([^<]+)</SecretAccessKey>`)
	xmlToken     = regexp.MustCompile(`<SessionToken>([^<]+)</SessionToken>`)
	xmlRole      = regexp.MustCompile(`<Arn>arn:aws:sts::([0-9]+):assumed-role/([^/<]+)/`)
)

// record notes the credentials of an AssumeRole answer.
func (l *stsLog) record(body []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := xmlAccessKey.FindSubmatch(body); m != nil {
		role := ""
		if r := xmlRole.FindSubmatch(body); r != nil {
			role = fmt.Sprintf("arn:aws:iam::%s:role/%s", r[1], r[2])
		}
		l.issued[string(m[1])] = role
	}
	for _, re := range []*regexp.Regexp{xmlSecretKey, xmlToken} {
		if m := re.FindSubmatch(body); m != nil {
			l.secrets = append(l.secrets, string(m[1]))
		}
	}
	return body
}

func (l *stsLog) requests() []signed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

func (l *stsLog) roleOf(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.issued[key]
}

func (l *stsLog) credentials() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.secrets)
}

// stsFault is what STS answers for a role it refuses.
func stsFault(role string) fault {
	return fault{status: 403, code: "AccessDenied", xml: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
		`<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole on resource: ` + role +
		`</Message></Error><RequestId>test-proxy</RequestId></ErrorResponse>`}
}

// roleProxy is a proxy in front of moto that records every request and
// every AssumeRole answer, refusing AssumeRole for the roles in deny (and,
// with shortLived, shortening the credentials' duration to seconds).
func roleProxy(t *testing.T, deny []string, shortLived bool) (*proxy, string, *stsLog) {
	t.Helper()
	l := &stsLog{issued: map[string]string{}}
	p, u := h.startProxy(t, h.motoDirect, false)
	p.onRequest(l.observe)
	p.reset(func(r *http.Request, _ string, _ int) fault {
		if _, _, svc := scope(r); svc != "sts" {
			return fault{}
		}
		body := peek(r)
		for _, role := range deny {
			if strings.Contains(body, url.QueryEscape(role)) {
				return stsFault(role)
			}
		}
		if shortLived {
			// The SDK asks for its default duration; moto gives
			// whatever is asked, so the test asks for seconds.
			body = regexp.MustCompile(`DurationSeconds=[0-9]+`).ReplaceAllString(body, "DurationSeconds=2")
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		}
		return fault{rewrite: l.record}
	})
	return p, u, l
}

// taskMetadata serves the ECS task metadata endpoint's /task.
func taskMetadata(t *testing.T, taskID string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/c1/task" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"Cluster":"c","TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/c/%s"}`, taskID)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v4/c1"
}

func roleItem(from, path, role string) map[string]any {
	it := item(from, path)
	if role != "" {
		it["roleArn"] = role
	}
	return it
}

func TestRoles(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	role1 := "arn:aws:iam::444455556666:role/" + p + "-one"
	role2 := "arn:aws:iam::777788889999:role/" + p + "-two"
	values := map[string]string{"a": "a-" + tok, "b": "b-" + tok, "c": "c-" + tok, "d": "d-" + tok}
	// Each in the account its reader's role is in.
	putSecretIn(t, role1, p+"/a", values["a"])
	putSecretIn(t, role2, p+"/b", values["b"])
	putSecret(t, p+"/c", values["c"])
	putSecretIn(t, role1, p+"/d", values["d"])
	spec := specJSON(t,
		roleItem("secretsmanager:"+p+"/a", "a", role1),
		roleItem("secretsmanager:"+p+"/b", "b", role2),
		roleItem("secretsmanager:"+p+"/c", "c", ""),
		roleItem("secretsmanager:"+p+"/d", "d", role1),
	)
	for _, batch := range []string{"never", "always"} {
		t.Run(batch, func(t *testing.T) {
			pr, u, l := roleProxy(t, nil, false)
			_ = pr
			dir := t.TempDir()
			env := slices.Concat(h.env(u, h.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec,
				"AWS_ENDPOINT_URL_STS=" + u, "INJECTOR_SECRETS_BATCH=" + batch,
				"ECS_CONTAINER_METADATA_URI_V4=" + taskMetadata(t, "0123456789abcdef0123456789abcdef")})
			r, err := h.runInjector(env, 2*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.output)
			}
			for name, v := range values {
				if got := readString(t, filepath.Join(dir, name)); got != v {
					t.Errorf("%s = %q, want %q", name, got, v)
				}
			}
			assertNoSecret(t, r.output, l.credentials()...)
			// Each role assumed once, with the injector's session name
			// and the task's id.
			assumed := map[string]int{}
			var readers []string
			for _, s := range l.requests() {
				switch {
				case s.op == "AssumeRole":
					form, _ := url.ParseQuery(s.body)
					assumed[form.Get("RoleArn")]++
					if s.key != accessKey {
						t.Errorf("AssumeRole signed by %s, want the task's key", s.key)
					}
				case s.service == "secretsmanager":
					role := l.roleOf(s.key)
					if role == "" && s.key != accessKey {
						t.Errorf("%s signed by unknown key %s", s.op, s.key)
					}
					var in struct {
						SecretId     string
						SecretIdList []string
					}
					_ = json.Unmarshal([]byte(s.body), &in)
					ids := in.SecretIdList
					if in.SecretId != "" {
						ids = append(ids, in.SecretId)
					}
					for _, id := range ids {
						want := map[string]string{"a": role1, "b": role2, "c": "", "d": role1}[strings.TrimPrefix(id, p+"/")]
						if role != want {
							t.Errorf("%s of %s signed as role %q, want %q", s.op, id, role, want)
						}
					}
					readers = append(readers, fmt.Sprintf("%s:%s:%d", s.op, role, len(ids)))
				}
			}
			if assumed[role1] != 1 || assumed[role2] != 1 || len(assumed) != 2 {
				t.Errorf("AssumeRole calls %v, want one per role", assumed)
			}
			for _, s := range l.sessions {
				if s != "ecs-secret-injector-0123456789abcdef0123456789abcdef" {
					t.Errorf("session name %q", s)
				}
			}
			slices.Sort(readers)
			var want []string
			if batch == "always" {
				// One batch per role: a, d as role one; b as two; c as the task.
				want = []string{"BatchGetSecretValue::1", "BatchGetSecretValue:" + role1 + ":2", "BatchGetSecretValue:" + role2 + ":1"}
			} else {
				want = []string{"GetSecretValue::1", "GetSecretValue:" + role1 + ":1", "GetSecretValue:" + role1 + ":1", "GetSecretValue:" + role2 + ":1"}
			}
			slices.Sort(want)
			if !slices.Equal(readers, want) {
				t.Errorf("calls %v, want %v", readers, want)
			}
		})
	}
}

// TestRoleDenied: a role that cannot be assumed (refused, or nonexistent:
// STS answers both AccessDenied) is a fetch error naming the role, and
// nothing is written.
func TestRoleDenied(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	ok := "arn:aws:iam::444455556666:role/" + p + "-ok"
	denied := "arn:aws:iam::444455556666:role/" + p + "-missing"
	putSecretIn(t, ok, p+"/a", "a-"+tok)
	putSecret(t, p+"/b", "b-"+tok)
	spec := specJSON(t, roleItem("secretsmanager:"+p+"/a", "a", ok), roleItem("secretsmanager:"+p+"/b", "b", denied))
	_, u, l := roleProxy(t, []string{denied}, false)
	dir := t.TempDir()
	before := visibleTree(t, dir)
	env := slices.Concat(h.env(u, h.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec, "AWS_ENDPOINT_URL_STS=" + u})
	r, err := h.runInjector(env, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 3 || !strings.Contains(r.output, denied) || !strings.Contains(r.output, "AccessDenied") {
		t.Errorf("exit %d, want 3 naming %s:\n%s", r.code, denied, r.output)
	}
	if d := diffSnapshots(before, visibleTree(t, dir)); d != "" {
		t.Errorf("a failed run wrote:\n%s", d)
	}
	assertNoSecret(t, r.output, append(l.credentials(), "a-"+tok, "b-"+tok)...)
}

// TestRoleRefreshExpiry: in refresh mode, credentials of a role that
// expire within seconds are renewed and the checks keep succeeding,
// signed with the renewed credentials.
func TestRoleRefreshExpiry(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	role := "arn:aws:iam::444455556666:role/" + p
	putSecretIn(t, role, p+"/db", "db-1-"+tok)
	spec := specJSON(t, roleItem("secretsmanager:"+p+"/db", "db", role))
	_, stsURL, l := roleProxy(t, nil, true)
	dir := t.TempDir()
	r := startRefresh(t, spec, dir, "AWS_ENDPOINT_URL_STS="+stsURL)
	defer func() { assertNoSecret(t, r.out.String(), append(l.credentials(), "db-1-"+tok, "db-2-"+tok)...) }()
	r.published(t, 1)
	var mu sync.Mutex
	var keys []string
	r.moto.onRequest(func(req *http.Request) {
		r.log.observe(req)
		if k, _, _ := scope(req); opName(req) == "DescribeSecret" {
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		}
	})
	// Past the expiry of the first credentials, several times over.
	start := r.status().Checks
	r.waitFor(t, "checks across the expiry", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return r.status().Checks >= start+4 && len(slices.Compact(slices.Clone(keys))) >= 2
	})
	if s := r.status(); s.Failures != 0 {
		t.Errorf("failed checks: %+v", s)
	}
	mu.Lock()
	for _, k := range keys {
		if l.roleOf(k) != role {
			t.Errorf("DescribeSecret signed by %s, not by credentials of %s", k, role)
		}
	}
	mu.Unlock()
	if _, err := accountClient(t, role).PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(p + "/db"), SecretString: aws.String("db-2-" + tok)}); err != nil {
		t.Fatal(err)
	}
	r.published(t, 2)
	if got := readString(t, filepath.Join(dir, "db")); got != "db-2-"+tok {
		t.Errorf("db = %q after rotation", got)
	}
}

// regionProxy is a proxy in front of moto that applies down to the
// requests signed for region down (its Secrets Manager and SSM calls).
func regionProxy(t *testing.T, downRegion string, down fault) (*proxy, string, *stsLog) {
	t.Helper()
	l := &stsLog{issued: map[string]string{}}
	p, u := h.startProxy(t, h.motoDirect, false)
	p.onRequest(l.observe)
	p.reset(func(r *http.Request, _ string, _ int) fault {
		if _, region, svc := scope(r); region == downRegion && svc != "sts" {
			return down
		}
		return fault{}
	})
	return p, u, l
}

// accountClient is a Secrets Manager client of the role's account: moto
// keeps each account's secrets apart and takes the account of assumed
// credentials from their role.
func accountClient(t *testing.T, role string) *secretsmanager.Client {
	t.Helper()
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(h.motoDirect) })
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, role))
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(h.motoDirect) })
}

// putSecretIn puts a secret in the account of role.
func putSecretIn(t *testing.T, role, name, value string) {
	t.Helper()
	if _, err := accountClient(t, role).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// putReplica puts the replica of a secret in region: the same name, its
// own value (so the files show which region served).
func putReplica(t *testing.T, region, name, value string) {
	t.Helper()
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(h.motoDirect) })
	if _, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

func TestFailover(t *testing.T) {
	t.Parallel()
	const replica = "us-west-2"
	tests := []struct {
		name    string
		down    fault
		timeout time.Duration
		// failover: the replica's value is written, exit 0.
		failover bool
		want     string // in the output when the run fails
	}{
		{name: "unavailable", down: fault{status: 503, code: "ServiceUnavailable"}, failover: true},
		{name: "connection dropped", down: fault{drop: true}, failover: true},
		{name: "hangs", down: fault{delay: time.Hour}, timeout: 20 * time.Second, failover: true},
		{name: "access denied", down: fault{status: 400, code: "AccessDeniedException"}, want: "AccessDeniedException"},
		{name: "not found", down: fault{status: 400, code: "ResourceNotFoundException"}, want: "ResourceNotFoundException"},
		{name: "deleted", down: fault{status: 400, code: "InvalidRequestException"}, want: "InvalidRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := uniq()
			tok := randHex(6)
			putSecret(t, p+"/db", "primary-"+tok)
			putReplica(t, replica, p+"/db", "replica-"+tok)
			it := item("secretsmanager:"+p+"/db", "db")
			it["failoverRegion"] = replica
			spec := specJSON(t, it)
			_, u, l := regionProxy(t, region, tt.down)
			dir := t.TempDir()
			timeout := cmpOr(tt.timeout, 60*time.Second)
			env := slices.Concat(h.env(u, h.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec,
				"AWS_MAX_ATTEMPTS=2", "INJECTOR_TIMEOUT=" + timeout.String()})
			r, err := h.runInjector(env, 2*timeout)
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecret(t, r.output, "primary-"+tok, "replica-"+tok)
			replicaCalls := 0
			for _, s := range l.requests() {
				if s.region == replica {
					replicaCalls++
				}
			}
			if !tt.failover {
				if r.code != 3 || !strings.Contains(r.output, tt.want) {
					t.Errorf("exit %d, want 3 with %s:\n%s", r.code, tt.want, r.output)
				}
				if replicaCalls != 0 {
					t.Errorf("a refusal failed over: %d calls to %s", replicaCalls, replica)
				}
				if _, err := os.Stat(filepath.Join(dir, "db")); err == nil {
					t.Error("db written")
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", r.code, r.output)
			}
			if got := readString(t, filepath.Join(dir, "db")); got != "replica-"+tok {
				t.Errorf("db = %q, want the replica's value", got)
			}
			if !strings.Contains(r.output, "read from the failover region") || !strings.Contains(r.output, "region="+replica) {
				t.Errorf("log does not name the failover region:\n%s", r.output)
			}
			if replicaCalls == 0 {
				t.Error("no call to the replica's region")
			}
		})
	}
}

// TestFailoverRefreshStatus: in refresh mode the status file says which
// region served each item, and each check tries the primary first.
func TestFailoverRefreshStatus(t *testing.T) {
	t.Parallel()
	const replica = "us-west-2"
	p := uniq()
	tok := randHex(6)
	putSecret(t, p+"/db", "primary-"+tok)
	putReplica(t, replica, p+"/db", "replica-"+tok)
	it := item("secretsmanager:"+p+"/db", "db")
	it["failoverRegion"] = replica
	spec := specJSON(t, it)
	dir := t.TempDir()
	r := startRefresh(t, spec, dir, "AWS_MAX_ATTEMPTS=1", "INJECTOR_TIMEOUT=10s")
	defer func() { assertNoSecret(t, r.out.String(), "primary-"+tok, "replica-"+tok) }()
	ref := "secretsmanager:" + p + "/db"
	r.published(t, 1)
	r.waitFor(t, "the primary region in the status", func() bool { return regionOf(r.status(), ref) == region })
	var mu sync.Mutex
	var seen []string // region of each DescribeSecret
	r.moto.onRequest(func(req *http.Request) {
		r.log.observe(req)
		if _, rg, _ := scope(req); opName(req) == "DescribeSecret" {
			mu.Lock()
			seen = append(seen, rg)
			mu.Unlock()
		}
	})
	r.moto.reset(func(req *http.Request, _ string, _ int) fault {
		if _, rg, _ := scope(req); rg == region {
			return fault{status: 503, code: "ServiceUnavailable"}
		}
		return fault{}
	})
	r.waitFor(t, "the failover region in the status", func() bool { return regionOf(r.status(), ref) == replica })
	if s := r.status(); s.ConsecutiveFailures != 0 {
		t.Errorf("checks failed while the replica answered: %+v", s)
	}
	mu.Lock()
	if len(seen) == 0 || seen[0] != region {
		t.Errorf("checks went to %v, want the primary first", seen)
	}
	mu.Unlock()
	r.moto.reset(nil)
	r.waitFor(t, "the primary region again", func() bool { return regionOf(r.status(), ref) == region })
}

// regionOf is the region the status file's live table gives ref.
func regionOf(s status.Status, ref string) string {
	for _, it := range s.Live {
		if it.Ref == ref {
			return it.Region
		}
	}
	return ""
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
