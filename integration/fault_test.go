package integration_test

// Fault tests: the built injector against throttling, server errors, slow and
// dropped connections, broken S3 answers, a failing credential endpoint, a
// full disk, planted symbolic links, bad specs, write-time path conflicts and
// a failure after a file was replaced.
//
// Every case checks the exit code and the message, that the output root is
// exactly as it was on failure (or holds exactly the files asked for on
// success), that nothing outside it changed, and that no seeded secret value,
// raw or encoded, appears anywhere in the injector's output. Each case gets
// proxies of its own in front of moto and MinIO, so cases run in parallel.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// faultCase is one injector run against faulty peers or a hostile output root.
type faultCase struct {
	name string
	spec string
	// root makes the output root; nil means an empty temporary directory.
	root func(t *testing.T) string
	// prepare plants what is already in the output root (dir) and outside it
	// (outside, a directory that already holds the file "keep").
	prepare func(t *testing.T, dir, outside string)
	moto    faultFunc // faults of Secrets Manager and SSM calls
	s3      faultFunc // faults of S3 calls
	// proxies, if set, is given both proxies before the run.
	proxies   func(moto, s3 *proxy)
	extra     []string // environment added to or overriding the harness's
	wantCode  int
	wantMsg   []string          // each must appear in the output
	wantOne   []string          // at least one must appear in the output
	wantFiles map[string]string // on success: the files written, path -> content
	written   []string          // on success: more files written, checked by check
	inPlace   bool              // ecs-config: one file replaced in place, no generation
	wantCalls map[string]int    // exact calls per operation, both proxies together
	minCalls  map[string]int    // at least this many calls per operation
	noCall    bool              // no call may reach moto or MinIO
	// noConnect points every AWS endpoint at a loopback listener that
	// counts the connections it accepts; there may be none.
	noConnect bool
	// within is how long a correct run takes at most on a quiet machine
	// (0: no bound). It is checked with a margin of withinMargin, so that
	// a loaded machine cannot fail the case, while a run that ignores its
	// timeout or retries without bound (minutes) still does.
	within time.Duration
	// check runs after the other checks, with both proxies.
	check func(t *testing.T, dir string, moto, s3 *proxy)
}

// withinMargin multiplies every case's within bound.
const withinMargin = 4

// runFaultCases runs each case as a parallel subtest; secrets are every value
// the cases could touch, none of which may appear in any output.
func runFaultCases(t *testing.T, secrets []string, cases []faultCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFaultCase(t, tc, secrets)
		})
	}
}

func runFaultCase(t *testing.T, tc faultCase, secrets []string) {
	var dir string
	if tc.root != nil {
		dir = tc.root(t)
	} else {
		dir = t.TempDir()
	}
	outside := t.TempDir()
	plantFile(t, filepath.Join(outside, "keep"), "untouched-outside", 0o644)
	if tc.prepare != nil {
		tc.prepare(t, dir, outside)
	}
	before, outsideBefore := visibleTree(t, dir), snapshotTree(t, outside)
	namesBefore, dataBefore := injectorNames(dir)

	mp, motoURL := h.startProxy(t, h.motoDirect, false)
	mp.reset(tc.moto)
	sp, s3URL := h.startProxy(t, h.minio, false)
	sp.reset(tc.s3)
	if tc.proxies != nil {
		tc.proxies(mp, sp)
	}
	var conns *connCounter
	if tc.noConnect {
		conns = countConnections(t)
		motoURL, s3URL = conns.url, conns.url
	}
	env := append([]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + motoURL,
		"AWS_ENDPOINT_URL_SSM=" + motoURL,
		"AWS_ENDPOINT_URL_S3=" + s3URL,
		// Faults reach every operation: the unpinned secret of seedValues
		// goes through BatchGetSecretValue (a case may override this).
		"INJECTOR_SECRETS_BATCH=always",
	}, tc.extra...)
	start := time.Now()
	res := h.inject(t, tc.spec, dir, env...)
	elapsed := time.Since(start)

	// The output, secrets redacted, is logged for every case (see -v).
	t.Logf("exit %d after %s:\n%s", res.code, elapsed.Round(time.Millisecond), redact(res.output, secrets))
	assertNoSecret(t, res.output, secrets...)
	if res.code != tc.wantCode {
		t.Fatalf("exit %d, want %d", res.code, tc.wantCode)
	}
	// The text log escapes quotes inside the error.
	unescaped := strings.ReplaceAll(res.output, `\"`, `"`)
	for _, m := range tc.wantMsg {
		if !strings.Contains(res.output, m) && !strings.Contains(unescaped, m) {
			t.Errorf("output does not say %q", m)
		}
	}
	if len(tc.wantOne) > 0 && !slices.ContainsFunc(tc.wantOne, func(m string) bool {
		return strings.Contains(res.output, m) || strings.Contains(unescaped, m)
	}) {
		t.Errorf("output says none of %q", tc.wantOne)
	}
	if limit := tc.within * withinMargin; tc.within > 0 && elapsed > limit {
		t.Errorf("run took %s, want at most %s (%s with a margin of %d)", elapsed.Round(time.Millisecond), limit, tc.within, withinMargin)
	}
	after := visibleTree(t, dir)
	if tc.wantCode != 0 {
		if d := diffSnapshots(before, after); d != "" {
			t.Errorf("what a reader sees in the output root changed on failure:\n%s", d)
		}
		// The lock file may be new; nothing else of the injector's.
		names, data := injectorNames(dir)
		if names = slices.DeleteFunc(names, func(n string) bool { return n == "..lock" }); !slices.Equal(names, slices.DeleteFunc(namesBefore, func(n string) bool { return n == "..lock" })) || data != dataBefore {
			t.Errorf("the injector's names changed on failure: %v (..data -> %q), were %v (..data -> %q)", names, data, namesBefore, dataBefore)
		}
		if err := secretsOutside(dir, dataBefore, secrets); err != nil {
			t.Error(err)
		}
	} else {
		want := map[string]string{}
		maps.Copy(want, tc.wantFiles)
		for _, p := range tc.written {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			want[p] = string(b)
		}
		if tc.inPlace {
			if err := written(dir, before, after, want); err != nil {
				t.Error(err)
			}
		} else {
			checkWritten(t, dir, before, after, want, secrets...)
		}
	}
	if d := diffSnapshots(outsideBefore, snapshotTree(t, outside)); d != "" {
		t.Errorf("a directory outside the output root changed:\n%s", d)
	}
	for op, n := range tc.wantCalls {
		if got := mp.count(op) + sp.count(op); got != n {
			t.Errorf("%s calls = %d, want %d", op, got, n)
		}
	}
	for op, n := range tc.minCalls {
		if got := mp.count(op) + sp.count(op); got < n {
			t.Errorf("%s calls = %d, want at least %d", op, got, n)
		}
	}
	if tc.noCall {
		if n := mp.stats().total + sp.stats().total; n != 0 {
			t.Errorf("%d calls reached moto or MinIO, want none", n)
		}
	}
	if conns != nil {
		if n := conns.count(); n != 0 {
			t.Errorf("%d connections to the AWS endpoints, want none", n)
		}
	}
	if tc.check != nil {
		tc.check(t, dir, mp, sp)
	}
}

// faultAlways returns a fault function that applies f to every call of the
// operations named (all operations if none are).
func faultAlways(f fault, ops ...string) faultFunc {
	return func(_ *http.Request, op string, _ int) fault {
		if len(ops) == 0 || slices.Contains(ops, op) {
			return f
		}
		return fault{}
	}
}

// faultFirst returns a fault function that applies f to the first n calls of
// each operation, then lets calls through.
func faultFirst(n int, f fault) faultFunc {
	return func(_ *http.Request, _ string, i int) fault {
		if i <= n {
			return f
		}
		return fault{}
	}
}

// seeded is a small set of values, one per kind of call the injector makes.
type seeded struct {
	batch, pinned, param, object string // values
	items                        []map[string]any
	files                        map[string]string // path -> value, for success
	secrets                      []string
}

// seedValues stores one unpinned secret (BatchGetSecretValue), one pinned secret
// (GetSecretValue), one SecureString parameter (GetParameters) and, with
// withS3, one SSE-KMS object (GetObject), and returns items naming them.
// Values hold quotes, angle brackets and a newline so their escaped forms
// differ from the raw ones.
func seedValues(t *testing.T, withS3 bool) seeded {
	t.Helper()
	p := uniq()
	tokens := []string{randHex(8), randHex(8), randHex(8), randHex(8)}
	s := seeded{
		batch:  `batch "secret" <` + tokens[0] + ">\n",
		pinned: `pinned 'secret' &` + tokens[1],
		param:  "param\tsecret " + tokens[2],
		object: "object secret\x00" + tokens[3],
	}
	putSecret(t, p+"/batch", s.batch)
	putSecret(t, p+"/pinned", s.pinned)
	putParameter(t, "/"+p+"/param", s.param, ssmtypes.ParameterTypeSecureString)
	s.items = []map[string]any{
		{"from": "secretsmanager:" + p + "/batch", "path": "sm/batch"},
		{"from": "secretsmanager:" + p + "/pinned::AWSCURRENT:", "path": "sm/pinned"},
		{"from": "ssm:/" + p + "/param", "path": "ssm/param"},
	}
	s.files = map[string]string{"sm/batch": s.batch, "sm/pinned": s.pinned, "ssm/param": s.param}
	// The random parts alone too: a value cut short must not show either.
	s.secrets = []string{s.batch, s.pinned, s.param, tokens[0], tokens[1], tokens[2]}
	if withS3 {
		bucket := p + "-bucket"
		makeBucket(t, bucket)
		putObject(t, bucket, "obj", s.object, "sse-kms", nil)
		s.items = append(s.items, item("s3://"+bucket+"/obj", "s3/obj"))
		s.files["s3/obj"] = s.object
		s.secrets = append(s.secrets, s.object, tokens[3])
	}
	return s
}

var (
	throttlingFault  = fault{status: 400, code: "ThrottlingException"}
	internalFault    = fault{status: 500, code: "InternalFailure"}
	unavailableFault = fault{status: 503, code: "ServiceUnavailable"}
	slowDownFault    = fault{status: 503, code: "SlowDown"}
	dropFault        = fault{drop: true}
	stallFault       = fault{delay: time.Minute}
)

// The operations a seeded spec calls, and one call of each.
var (
	motoOps    = []string{"BatchGetSecretValue", "GetSecretValue", "GetParameters"}
	oneEachOps = map[string]int{"BatchGetSecretValue": 1, "GetSecretValue": 1, "GetParameters": 1}
)

func callsEach(ops []string, n int) map[string]int {
	m := map[string]int{}
	for _, op := range ops {
		m[op] = n
	}
	return m
}

// TestFaultsTransport: throttling, server errors, slow and dropped
// connections on Secrets Manager and SSM, and the same plus truncated bodies
// on S3. Transient faults are ridden out by the SDK's retries with the
// injector's default retry settings; persistent ones end in exit 3 quickly
// when AWS_MAX_ATTEMPTS or INJECTOR_TIMEOUT bound the run.
func TestFaultsTransport(t *testing.T) {
	moto := seedValues(t, false)
	all := seedValues(t, true)
	secrets := slices.Concat(moto.secrets, all.secrets)
	motoSpec, allSpec := specJSON(t, moto.items...), specJSON(t, all.items...)
	// S3 alone, after a Secrets Manager item that succeeds.
	s3Spec := specJSON(t, all.items[0], all.items[3])
	s3Files := map[string]string{"sm/batch": all.batch, "s3/obj": all.object}
	maxAttempts := func(n int) string { return "AWS_MAX_ATTEMPTS=" + strconv.Itoa(n) }

	runFaultCases(t, secrets, []faultCase{
		{name: "throttled then pass", spec: motoSpec, moto: faultFirst(2, throttlingFault),
			wantFiles: moto.files, wantCalls: callsEach(motoOps, 3), within: 20 * time.Second},
		{name: "throttled forever, attempts bounded", spec: motoSpec, moto: faultAlways(throttlingFault), extra: []string{maxAttempts(3)},
			wantCode: 3, wantMsg: append([]string{"ThrottlingException", "exceeded maximum number of attempts, 3"}, motoOps...),
			wantCalls: callsEach(motoOps, 3), within: 15 * time.Second},
		{name: "throttled forever, run timeout", spec: motoSpec, moto: faultAlways(throttlingFault), extra: []string{"INJECTOR_TIMEOUT=3s"},
			wantCode: 3, wantMsg: []string{"BatchGetSecretValue", "deadline exceeded"}, minCalls: callsEach(motoOps, 1), within: 8 * time.Second},
		{name: "only ssm throttled", spec: motoSpec, moto: faultAlways(throttlingFault, "GetParameters"), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: []string{"ssm GetParameters", "ThrottlingException"},
			wantCalls: map[string]int{"BatchGetSecretValue": 1, "GetSecretValue": 1, "GetParameters": 2}, within: 10 * time.Second},
		{name: "500 then pass", spec: motoSpec, moto: faultFirst(1, internalFault),
			wantFiles: moto.files, wantCalls: callsEach(motoOps, 2), within: 15 * time.Second},
		{name: "503 then pass", spec: motoSpec, moto: faultFirst(1, unavailableFault),
			wantFiles: moto.files, wantCalls: callsEach(motoOps, 2), within: 15 * time.Second},
		{name: "500 forever", spec: motoSpec, moto: faultAlways(internalFault), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: append([]string{"InternalFailure", "StatusCode: 500"}, motoOps...),
			wantCalls: callsEach(motoOps, 2), within: 10 * time.Second},
		{name: "503 forever", spec: motoSpec, moto: faultAlways(unavailableFault), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: append([]string{"ServiceUnavailable", "StatusCode: 503"}, motoOps...),
			wantCalls: callsEach(motoOps, 2), within: 10 * time.Second},
		{name: "slow within timeout", spec: motoSpec, moto: faultAlways(fault{delay: 300 * time.Millisecond}),
			extra: []string{"INJECTOR_TIMEOUT=10s"}, wantFiles: moto.files, wantCalls: oneEachOps, within: 8 * time.Second},
		{name: "slower than timeout", spec: motoSpec, moto: faultAlways(stallFault), extra: []string{"INJECTOR_TIMEOUT=2s"},
			wantCode: 3, wantMsg: append([]string{"deadline exceeded"}, motoOps...), within: 6 * time.Second},
		{name: "dropped then pass", spec: motoSpec, moto: faultFirst(1, dropFault),
			wantFiles: moto.files, minCalls: callsEach(motoOps, 2), within: 15 * time.Second},
		{name: "dropped forever", spec: motoSpec, moto: faultAlways(dropFault), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: append([]string{"EOF"}, motoOps...), minCalls: callsEach(motoOps, 2), within: 10 * time.Second},
		{name: "answer truncated", spec: motoSpec, moto: faultAlways(fault{truncate: true}), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: motoOps, minCalls: callsEach(motoOps, 1), within: 10 * time.Second},
		{name: "all sources, each first call fails", spec: allSpec, extra: []string{"INJECTOR_LOG_FORMAT=json"},
			moto: faultFirst(1, throttlingFault), s3: faultFirst(1, slowDownFault),
			wantFiles: all.files, wantCalls: map[string]int{"BatchGetSecretValue": 2, "GetSecretValue": 2, "GetParameters": 2, "GetObject": 2},
			within: 15 * time.Second},
		{name: "s3 SlowDown then pass", spec: s3Spec, s3: faultFirst(2, slowDownFault),
			wantFiles: s3Files, wantCalls: map[string]int{"GetObject": 3}, within: 20 * time.Second},
		{name: "s3 SlowDown forever", spec: s3Spec, s3: faultAlways(slowDownFault), extra: []string{maxAttempts(3)},
			wantCode: 3, wantMsg: []string{"s3 GetObject of s3://", "SlowDown", "exceeded maximum number of attempts, 3"},
			wantCalls: map[string]int{"GetObject": 3}, within: 15 * time.Second},
		{name: "s3 body truncated", spec: s3Spec, s3: faultAlways(fault{truncate: true}), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: []string{"s3 GetObject of s3://", "unexpected EOF"}, minCalls: map[string]int{"GetObject": 1},
			within: 10 * time.Second},
		{name: "s3 body truncated, json log", spec: s3Spec, s3: faultAlways(fault{truncate: true}),
			extra:    []string{maxAttempts(2), "INJECTOR_LOG_FORMAT=json"},
			wantCode: 3, wantMsg: []string{`"exit":3`, "unexpected EOF"}, within: 10 * time.Second},
		{name: "s3 slower than timeout", spec: s3Spec, s3: faultAlways(stallFault), extra: []string{"INJECTOR_TIMEOUT=2s"},
			wantCode: 3, wantMsg: []string{"s3 GetObject of s3://", "deadline exceeded"}, within: 6 * time.Second},
		{name: "s3 dropped forever", spec: s3Spec, s3: faultAlways(dropFault), extra: []string{maxAttempts(2)},
			wantCode: 3, wantMsg: []string{"s3 GetObject of s3://", "EOF"}, minCalls: map[string]int{"GetObject": 2},
			within: 10 * time.Second},
	})
}

// credEndpoint is a fake ECS container credentials endpoint.
type credEndpoint struct {
	url string

	mu    sync.Mutex
	calls int
	auth  []string // Authorization headers seen
}

// newCredEndpoint serves answer at /creds and counts the calls.
func newCredEndpoint(t *testing.T, answer http.HandlerFunc) *credEndpoint {
	t.Helper()
	e := &credEndpoint{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls++
		e.auth = append(e.auth, r.Header.Get("Authorization"))
		e.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/creds"
	return e
}

func (e *credEndpoint) seen() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls, slices.Clone(e.auth)
}

// TestFaultsCredentials runs the injector with no static keys, taking
// credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI as on ECS. A failing
// endpoint ends in exit 3 naming credentials, with no call reaching AWS; a
// working one proves the path.
func TestFaultsCredentials(t *testing.T) {
	s := seedValues(t, false)
	spec := specJSON(t, s.items...)
	const keyID = "ASIATESTCONTAINERKEY"
	secretAccess := "container-secret-access-key-" + randHex(8)
	sessionToken := "container-session-token-" + randHex(16)
	authToken := "container-auth-token-" + randHex(8)
	secrets := append(slices.Clone(s.secrets), secretAccess, sessionToken, authToken)

	valid := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != authToken {
			http.Error(w, `{"code":"AccessDenied","message":"bad token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": keyID, "SecretAccessKey": secretAccess, "Token": sessionToken,
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}
	endpoints := map[string]*credEndpoint{
		"valid":   newCredEndpoint(t, valid),
		"checked": newCredEndpoint(t, valid), // the same, for the refused token
		"500":     newCredEndpoint(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }),
		"garbage": newCredEndpoint(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("this is not JSON {")) }),
	}
	closedPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	env := func(uri string, more ...string) []string {
		return append([]string{
			// Empty counts as unset for the SDK: no static keys.
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + uri,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + authToken,
			// One attempt per API call; the credential client still makes
			// its own three.
			"AWS_MAX_ATTEMPTS=1",
		}, more...)
	}
	called := func(name string) func(*testing.T, string, *proxy, *proxy) {
		return func(t *testing.T, _ string, _, _ *proxy) {
			if n, _ := endpoints[name].seen(); n == 0 {
				t.Errorf("credential endpoint %s was never called", name)
			}
		}
	}
	signed := &signerLog{} // what moto saw in the valid case

	runFaultCases(t, secrets, []faultCase{
		{name: "endpoint answers 500", spec: spec, extra: env(endpoints["500"].url),
			wantCode: 3, wantMsg: []string{"failed to refresh cached credentials", "boom"}, noCall: true, within: 10 * time.Second,
			check: called("500")},
		{name: "endpoint answers 500, default retries", spec: spec,
			extra:    env(endpoints["500"].url, "AWS_MAX_ATTEMPTS=", "INJECTOR_TIMEOUT=3s"),
			wantCode: 3, wantMsg: []string{"credentials"}, noCall: true, within: 8 * time.Second},
		{name: "endpoint answers garbage", spec: spec, extra: env(endpoints["garbage"].url),
			wantCode: 3, wantMsg: []string{"failed to refresh cached credentials"}, noCall: true, within: 10 * time.Second, check: called("garbage")},
		{name: "endpoint refuses the token", spec: spec,
			extra:    append(env(endpoints["checked"].url), "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token"),
			wantCode: 3, wantMsg: []string{"credentials", "AccessDenied"}, noCall: true, within: 10 * time.Second},
		{name: "endpoint unreachable", spec: spec, extra: env("http://127.0.0.1:" + closedPort + "/creds"),
			wantCode: 3, wantMsg: []string{"credentials", "connection refused"}, noCall: true, within: 10 * time.Second},
		{name: "endpoint not loopback", spec: spec, extra: env("http://192.0.2.1/creds"),
			wantCode: 2, wantMsg: []string{"only loopback/ecs/eks hosts are allowed"}, noCall: true, within: 5 * time.Second},
		{name: "endpoint answers valid credentials", spec: spec, extra: env(endpoints["valid"].url),
			wantFiles: s.files, wantCalls: oneEachOps, within: 10 * time.Second,
			check: func(t *testing.T, _ string, moto, _ *proxy) {
				n, auth := endpoints["valid"].seen()
				if n == 0 {
					t.Fatal("credential endpoint was never called")
				}
				for _, a := range auth {
					if a != authToken {
						t.Errorf("credential endpoint got an Authorization header other than AWS_CONTAINER_AUTHORIZATION_TOKEN")
					}
				}
				keys, tokens := signed.seen()
				if len(keys) == 0 {
					t.Error("moto saw no signed request")
				}
				for i, k := range keys {
					if k != keyID {
						t.Errorf("request signed with access key %q, want the endpoint's %q", k, keyID)
					}
					if tokens[i] != sessionToken {
						t.Error("request without the endpoint's session token in X-Amz-Security-Token")
					}
				}
			},
			proxies: func(moto, _ *proxy) { moto.onRequest(signed.observe) }},
	})
}

// signerLog records the access key id and session token of each request.
type signerLog struct {
	mu           sync.Mutex
	keys, tokens []string
}

func (l *signerLog) observe(r *http.Request) {
	_, rest, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	id, _, _ := strings.Cut(rest, "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, id)
	l.tokens = append(l.tokens, r.Header.Get("X-Amz-Security-Token"))
}

func (l *signerLog) seen() (keys, tokens []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.keys), slices.Clone(l.tokens)
}

// mountTmpfs mounts a tmpfs with the given options and returns its mount
// point; it is unmounted when t ends. The test is skipped, with the reason,
// where mounting is not permitted.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (%s) for the disk-full cases (needs root or CAP_SYS_ADMIN): %v: %s", opts, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v: %s", dir, err, bytes.TrimSpace(out))
		}
	})
	return dir
}

// tinyFS is a 64 KiB file system.
func tinyFS(t *testing.T) string { return mountTmpfs(t, "size=64k,mode=0755") }

// fewInodesFS has room for the root directory and three more entries.
func fewInodesFS(t *testing.T) string { return mountTmpfs(t, "size=1m,nr_inodes=4,mode=0755") }

// readOnlyFS is a file system mounted read-only, holding one older file.
func readOnlyFS(t *testing.T) string {
	t.Helper()
	dir := mountTmpfs(t, "size=64k,mode=0755")
	plantFile(t, filepath.Join(dir, "sm", "batch"), "older batch\n", 0o400)
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount %s read-only: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	return dir
}

// TestFaultsDiskFull writes into a 64 KiB file system: a value larger than
// the free space, among small ones, fails the whole write with exit 5, and
// no file, temporary or directory is left behind.
func TestFaultsDiskFull(t *testing.T) {
	s := seedValues(t, false)
	p := uniq()
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	token := randHex(8)
	big := strings.Repeat("big secret "+token+"\n", 256<<10/28) // about 256 KiB
	putObject(t, bucket, "big", big, "sse-s3", nil)
	bigItem := item("s3://"+bucket+"/big", "blob/big")
	secrets := append(slices.Clone(s.secrets), big, token)

	// The writer writes a generation's files in parallel: the big value can
	// never fit, but a small one may be the first to find no space left.
	// Either way the message names the file.
	fileNames := []string{"blob/big", "sm/batch", "sm/pinned", "ssm/param"}
	runFaultCases(t, secrets, []faultCase{
		{name: "small values fit", root: tinyFS, spec: specJSON(t, s.items...), wantFiles: s.files},
		{name: "value larger than the free space", root: tinyFS,
			spec:     specJSON(t, s.items[0], s.items[1], bigItem, s.items[2]),
			wantCode: 5, wantMsg: []string{"no space left on device"}, wantOne: fileNames},
		{name: "value larger than the free space, replacing files", root: tinyFS,
			prepare: func(t *testing.T, dir, _ string) {
				plantFile(t, filepath.Join(dir, "sm", "batch"), "older batch\n", 0o400)
				plantFile(t, filepath.Join(dir, "blob", "big"), "older big\n", 0o640)
			},
			spec:     specJSON(t, s.items[0], bigItem, s.items[2]),
			wantCode: 5, wantMsg: []string{"no space left on device"}, wantOne: fileNames},
		{name: "value larger than the free space, replacing a generation", root: tinyFS,
			prepare: func(t *testing.T, dir, _ string) {
				if res := h.inject(t, specJSON(t, s.items[0], s.items[2]), dir); res.code != 0 {
					t.Fatalf("first run: exit %d:\n%s", res.code, redact(res.output, secrets))
				}
			},
			spec:     specJSON(t, s.items[0], bigItem, s.items[2]),
			wantCode: 5, wantMsg: []string{"no space left on device"}, wantOne: fileNames},
		{name: "no free inodes", root: fewInodesFS, spec: specJSON(t, s.items...),
			wantCode: 5, wantMsg: []string{"no space left on device"}},
		{name: "read-only file system", root: readOnlyFS, spec: specJSON(t, s.items...),
			wantCode: 5, wantMsg: []string{"read-only file system"}},
		{name: "output root missing", spec: specJSON(t, s.items...),
			root:     func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing") },
			wantCode: 5, wantMsg: []string{"opening output root", "no such file or directory"}},
		{name: "output root is a file", spec: specJSON(t, s.items...),
			root: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "file")
				plantFile(t, p, "not a directory", 0o644)
				return p
			},
			wantCode: 5, wantMsg: []string{"opening output root", "not a directory"}},
	})
}

// TestFaultsSymlinks plants symbolic links in the output root. A link at a
// name an item writes, or below it, is replaced (with what the name held),
// never followed: the run succeeds and nothing it pointed at changes. An
// ecs-config file, replaced in place, refuses a link on the way or as the
// file with exit 5.
func TestFaultsSymlinks(t *testing.T) {
	s := seedValues(t, false)
	// A good item first: it is written too.
	spec := func(path string) string {
		return specJSON(t, s.items[0], item(s.items[2]["from"], path))
	}
	files := func(path string) map[string]string {
		return map[string]string{"sm/batch": s.batch, path: s.param}
	}
	// ecs-config reads the file it merges into before writing it.
	password := "registry-password-" + randHex(8)
	login, _ := json.Marshal(map[string]string{"username": "robot", "password": password})
	loginName := uniq() + "/login"
	putSecret(t, loginName, string(login))
	ecsSpec := specJSON(t, map[string]any{
		"from": "secretsmanager:" + loginName, "path": "ecs/ecs.config", "format": "ecs-config", "registry": "registry.example.com",
	})
	secrets := append(slices.Clone(s.secrets), password, string(login),
		base64.StdEncoding.EncodeToString([]byte("robot:"+password)))

	runFaultCases(t, secrets, []faultCase{
		{name: "ecs.config merged", spec: ecsSpec, written: []string{"ecs/ecs.config"}, inPlace: true,
			prepare: func(t *testing.T, dir, _ string) {
				plantFile(t, filepath.Join(dir, "ecs", "ecs.config"), "ECS_CLUSTER=prod\n", 0o644)
			},
			check: func(t *testing.T, dir string, _, _ *proxy) {
				b, err := os.ReadFile(filepath.Join(dir, "ecs", "ecs.config"))
				if err != nil || !bytes.Contains(b, []byte("ECS_CLUSTER=prod\n")) || !bytes.Contains(b, []byte("ECS_ENGINE_AUTH_DATA=")) {
					t.Errorf("ecs.config was not merged (%d bytes, %v)", len(b), err)
				}
			}},
		{name: "ecs.config links outside", spec: ecsSpec,
			prepare: func(t *testing.T, dir, outside string) {
				plantLink(t, filepath.Join(outside, "keep"), filepath.Join(dir, "ecs", "ecs.config"))
			},
			wantCode: 5, wantMsg: []string{"ecs/ecs.config", "symbolic link"}},
		{name: "ecs.config directory links outside", spec: ecsSpec,
			prepare:  func(t *testing.T, dir, outside string) { plantLink(t, outside, filepath.Join(dir, "ecs")) },
			wantCode: 5, wantMsg: []string{"ecs/ecs.config", "ecs is a symbolic link"}},
		{name: "ecs.config directory links inside the root", spec: ecsSpec,
			prepare: func(t *testing.T, dir, _ string) {
				plantFile(t, filepath.Join(dir, "real", "ecs.config"), "ECS_CLUSTER=prod\n", 0o644)
				plantLink(t, "real", filepath.Join(dir, "ecs"))
			},
			wantCode: 5, wantMsg: []string{"ecs is a symbolic link"}},
		{name: "directory links outside", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, outside string) { plantLink(t, outside, filepath.Join(dir, "app")) }},
		{name: "directory links outside, relative", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, _ string) {
				plantLink(t, "../../../../../../../../tmp", filepath.Join(dir, "app"))
			}},
		{name: "deeper directory links outside", spec: spec("app/conf/key"), wantFiles: files("app/conf/key"),
			prepare: func(t *testing.T, dir, outside string) {
				mkdir(t, filepath.Join(dir, "app"))
				plantLink(t, outside, filepath.Join(dir, "app", "conf"))
			}},
		{name: "directory links inside the root", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, _ string) {
				plantFile(t, filepath.Join(dir, "real", "key"), "inside-original", 0o644)
				plantLink(t, "real", filepath.Join(dir, "app"))
			}},
		{name: "target links to a file outside", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, outside string) {
				plantLink(t, filepath.Join(outside, "keep"), filepath.Join(dir, "app", "key"))
			}},
		{name: "target links to a file inside the root", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, _ string) {
				plantFile(t, filepath.Join(dir, "real"), "inside-original", 0o644)
				plantLink(t, "../real", filepath.Join(dir, "app", "key"))
			}},
		{name: "target is a dangling link", spec: spec("key"), wantFiles: files("key"),
			prepare: func(t *testing.T, dir, outside string) {
				plantLink(t, filepath.Join(outside, "created-through-link"), filepath.Join(dir, "key"))
			}},
		{name: "directory is a dangling link", spec: spec("app/key"), wantFiles: files("app/key"),
			prepare: func(t *testing.T, dir, outside string) {
				plantLink(t, filepath.Join(outside, "no-such-dir"), filepath.Join(dir, "app"))
			}},
		{name: "target links to a directory outside", spec: spec("key"), wantFiles: files("key"),
			prepare: func(t *testing.T, dir, outside string) { plantLink(t, outside, filepath.Join(dir, "key")) }},
		{name: "..data links outside", spec: spec("key"), wantFiles: files("key"),
			prepare: func(t *testing.T, dir, outside string) { plantLink(t, outside, filepath.Join(dir, "..data")) }},
		{name: "..data is a directory", spec: spec("key"), wantFiles: files("key"),
			prepare: func(t *testing.T, dir, _ string) { plantFile(t, filepath.Join(dir, "..data", "key"), "planted", 0o644) }},
		// Not followed: replaced by a lock file of the injector's own.
		{name: "..lock links outside", spec: spec("key"), wantFiles: files("key"),
			prepare: func(t *testing.T, dir, outside string) {
				plantLink(t, filepath.Join(outside, "keep"), filepath.Join(dir, "..lock"))
			},
			check: func(t *testing.T, dir string, _, _ *proxy) {
				if fi, err := os.Lstat(filepath.Join(dir, "..lock")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
					t.Errorf("..lock: %v, %v; want a regular file, mode 0600", fi.Mode(), err)
				}
			}},
	})
}

// TestFaultsSpec: malformed specs, references and settings are configuration
// errors (exit 2) found before any AWS call.
func TestFaultsSpec(t *testing.T) {
	s := seedValues(t, true)
	good := s.items[0]
	withGood := func(items ...map[string]any) string { return specJSON(t, append([]map[string]any{good}, items...)...) }
	badRef := func(from string) string { return withGood(item(from, "x")) }
	badPath := func(path string) string { return withGood(item(s.items[2]["from"].(string), path)) }
	specFile := filepath.Join(t.TempDir(), "spec.json")
	plantFile(t, specFile, withGood(), 0o600)

	cases := []faultCase{
		{name: "bad json", spec: `[{"from": "secretsmanager:x", "path": "a"`, wantMsg: []string{"invalid spec"}},
		{name: "not a list", spec: `{"from": "secretsmanager:x", "path": "a"}`, wantMsg: []string{"invalid spec"}},
		{name: "trailing data", spec: withGood() + ` []`, wantMsg: []string{"trailing data"}},
		{name: "empty list", spec: `[]`, wantMsg: []string{"no items"}},
		{name: "null", spec: `null`, wantMsg: []string{"no items"}},
		{name: "unknown field", spec: `[{"from": "secretsmanager:x", "path": "a", "owner": "app"}]`, wantMsg: []string{"unknown field"}},
		{name: "wrong field type", spec: `[{"from": 7, "path": "a"}]`, wantMsg: []string{"invalid spec"}},
		{name: "unknown format", spec: withGood(map[string]any{"from": "secretsmanager:x", "path": "x", "format": "yaml"}), wantMsg: []string{`unknown format "yaml"`}},
		{name: "missing from", spec: withGood(map[string]any{"path": "x"}), wantMsg: []string{"from is required"}},
		{name: "duplicate path", spec: withGood(good), wantMsg: []string{"already written"}},
		{name: "duplicate path after cleaning", spec: withGood(item("secretsmanager:x", "sm//./batch")), wantMsg: []string{"already written"}},
		{name: "file is another item's directory", spec: withGood(item("secretsmanager:x", "sm/batch/inner")), wantMsg: []string{"which is another item's file"}},
		{name: "explode below a file", spec: withGood(map[string]any{"from": "secretsmanager:x", "path": "sm/batch/dir", "format": "explode"}),
			wantMsg: []string{"which is another item's file"}},
		{name: "absolute path", spec: badPath("/etc/passwd"), wantMsg: []string{"stay inside"}},
		{name: "dot-dot path", spec: badPath("../x"), wantMsg: []string{"stay inside"}},
		{name: "dot-dot inside path", spec: badPath("a/../../x"), wantMsg: []string{"stay inside"}},
		{name: "root as path", spec: badPath("."), wantMsg: []string{"stay inside"}},
		{name: "empty path", spec: badPath(""), wantMsg: []string{"path is required"}},
		{name: "newline in path", spec: badPath("a\nb"), wantMsg: []string{"control character"}},
		{name: "NUL in path", spec: badPath("a\x00b"), wantMsg: []string{"control character"}},
		{name: "DEL in path", spec: badPath("a\x7fb"), wantMsg: []string{"control character"}},
		{name: "backslash in path", spec: badPath(`a\..\..\b`), wantMsg: []string{"backslash"}},
		{name: "path in the injector's names", spec: badPath("..data/x"), wantMsg: []string{`"..data/x"`, "belong to the injector"}},
		{name: "path with a .. prefix", spec: badPath("..secrets"), wantMsg: []string{"belong to the injector"}},
		{name: "ecs-config beside another item", spec: withGood(map[string]any{"from": "secretsmanager:x", "path": "ecs.config", "format": "ecs-config", "registry": "r.example"}),
			wantMsg: []string{"ecs-config", "cannot be written atomically together with other paths"}},
		{name: "control character in ref", spec: badRef("secretsmanager:a\tb"), wantMsg: []string{"control character"}},
		{name: "unknown scheme", spec: badRef("vault:secret/x"), wantMsg: []string{"invalid reference"}},
		{name: "empty secret name", spec: badRef("secretsmanager:"), wantMsg: []string{"empty secret name"}},
		{name: "secret with two fields", spec: badRef("secretsmanager:a:b"), wantMsg: []string{"NAME:json-key:version-stage:version-id"}},
		{name: "secret with stage and id", spec: badRef("secretsmanager:a:k:AWSCURRENT:v1"), wantMsg: []string{"not both"}},
		{name: "empty parameter name", spec: badRef("ssm:"), wantMsg: []string{"empty parameter name"}},
		{name: "empty parameter selector", spec: badRef("ssm:/a:"), wantMsg: []string{"selector"}},
		{name: "arn without account", spec: badRef("arn:aws:secretsmanager:us-east-1::secret:x"), wantMsg: []string{"needs partition, region and account"}},
		{name: "arn of another service", spec: badRef("arn:aws:sqs:us-east-1:111122223333:queue"), wantMsg: []string{"not secretsmanager or ssm"}},
		{name: "ssm arn without parameter/", spec: badRef("arn:aws:ssm:us-east-1:111122223333:param/x"), wantMsg: []string{"parameter/"}},
		{name: "short arn", spec: badRef("arn:aws:secretsmanager"), wantMsg: []string{"too few fields"}},
		{name: "s3 without bucket", spec: badRef("s3:///key"), wantMsg: []string{"empty bucket"}},
		{name: "s3 without key", spec: badRef("s3://bucket"), wantMsg: []string{"needs an object key"}},
		{name: "s3 folder key", spec: badRef("s3://bucket/dir/"), wantMsg: []string{"needs an object key"}},
		{name: "s3 with user", spec: badRef("s3://user@bucket/key"), wantMsg: []string{"only bucket, key and query"}},
		{name: "s3 unknown query", spec: badRef("s3://bucket/key?acl=x"), wantMsg: []string{"unknown query parameter"}},
		{name: "s3 repeated query", spec: badRef("s3://bucket/key?versionId=1&versionId=2"), wantMsg: []string{"exactly one value"}},
		{name: "sseCustomerKey on a secret", spec: withGood(map[string]any{"from": "secretsmanager:x", "path": "x", "sseCustomerKey": "secretsmanager:k"}),
			wantMsg: []string{"s3:// references only"}},
		{name: "sseCustomerKey in s3", spec: withGood(map[string]any{"from": "s3://b/k", "path": "x", "sseCustomerKey": "s3://b/key"}),
			wantMsg: []string{"not S3"}},
		{name: "template without text", spec: withGood(map[string]any{"from": "secretsmanager:x", "path": "x", "format": "template"}),
			wantMsg: []string{"needs template text"}},
		{name: "spec and spec file", spec: withGood(), extra: []string{"INJECTOR_SPEC_FILE=" + specFile}, wantMsg: []string{"exactly one of"}},
		{name: "missing spec file", spec: "", extra: []string{"INJECTOR_SPEC_FILE=" + specFile + ".missing"}, wantMsg: []string{"reading INJECTOR_SPEC_FILE"}},
		{name: "zero timeout", spec: withGood(), extra: []string{"INJECTOR_TIMEOUT=0s"}, wantMsg: []string{"INJECTOR_TIMEOUT must be positive"}},
		{name: "bad concurrency", spec: withGood(), extra: []string{"INJECTOR_CONCURRENCY=0"}, wantMsg: []string{"INJECTOR_CONCURRENCY"}},
		{name: "bad log format", spec: withGood(), extra: []string{"INJECTOR_LOG_FORMAT=xml"}, wantMsg: []string{"INJECTOR_LOG_FORMAT"}},
	}
	for i := range cases {
		cases[i].wantCode = 2
		cases[i].noCall = true
		cases[i].wantMsg = append(cases[i].wantMsg, "configuration error")
		cases[i].within = 5 * time.Second
	}
	runFaultCases(t, s.secrets, cases)
}

// TestFaultsPathConflicts: conflicts that only the fetched values reveal (an
// exploded key landing on another item's path) are found before any file is
// written: exit 5, nothing changed. What the output root holds at a name an
// item writes (a directory where a file goes, a file where a directory goes,
// a fifo) is replaced.
func TestFaultsPathConflicts(t *testing.T) {
	s := seedValues(t, false)
	p := uniq()
	cfgA, cfgB := "explode-a-"+randHex(8), "explode-b-"+randHex(8)
	cfg, _ := json.Marshal(map[string]string{"key": cfgA, "other": cfgB})
	putSecret(t, p+"/cfg", string(cfg))
	explode := map[string]any{"from": "secretsmanager:" + p + "/cfg", "path": "cfg", "format": "explode"}
	raw := func(path string) map[string]any { return item(s.items[2]["from"], path) }
	secrets := append(slices.Clone(s.secrets), cfgA, cfgB, string(cfg))

	runFaultCases(t, secrets, []faultCase{
		{name: "explode without conflict", spec: specJSON(t, explode, raw("cfg-other/key")),
			wantFiles: map[string]string{"cfg/key": cfgA, "cfg/other": cfgB, "cfg-other/key": s.param}},
		{name: "exploded key is another item's file", spec: specJSON(t, s.items[0], explode, raw("cfg/key")),
			wantCode: 5, wantMsg: []string{`"cfg/key" is written twice`}},
		{name: "exploded key is another item's directory", spec: specJSON(t, s.items[0], explode, raw("cfg/key/inner")),
			wantCode: 5, wantMsg: []string{`"cfg/key/inner" is inside "cfg/key"`}},
		{name: "target is an existing directory", spec: specJSON(t, s.items[0], raw("app/key")),
			prepare:   func(t *testing.T, dir, _ string) { mkdir(t, filepath.Join(dir, "app", "key", "inner")) },
			wantFiles: map[string]string{"sm/batch": s.batch, "app/key": s.param}},
		{name: "directory is an existing file", spec: specJSON(t, s.items[0], explode),
			prepare:   func(t *testing.T, dir, _ string) { plantFile(t, filepath.Join(dir, "cfg"), "a file", 0o644) },
			wantFiles: map[string]string{"sm/batch": s.batch, "cfg/key": cfgA, "cfg/other": cfgB}},
		{name: "target is a fifo", spec: specJSON(t, s.items[0], raw("app/key")),
			prepare: func(t *testing.T, dir, _ string) {
				mkdir(t, filepath.Join(dir, "app"))
				if out, err := exec.Command("mkfifo", filepath.Join(dir, "app", "key")).CombinedOutput(); err != nil {
					t.Skipf("mkfifo: %v: %s", err, out)
				}
			},
			wantFiles: map[string]string{"sm/batch": s.batch, "app/key": s.param}},
	})
}

// immutable sets the immutable attribute on p (so it cannot be replaced,
// renamed or linked, even by root) until t ends. It skips t where the
// attribute cannot be set.
func immutable(t *testing.T, p string) {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
		t.Skipf("cannot make a file immutable to fail a rename (needs chattr, CAP_LINUX_IMMUTABLE and a file system that supports it): %v: %s",
			err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", p).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", p, err, bytes.TrimSpace(out))
		}
	})
}

// TestFaultsReplacedFile: the output root holds an older version of a
// target, from the image or an older injector (a plain file), or from an
// earlier run (a generation). When the run fails, at fetch time, while
// rendering or while writing, what a reader sees is the very file that was
// there (the same inode, mode and content), and nothing new is left.
func TestFaultsReplacedFile(t *testing.T) {
	s := seedValues(t, false)
	const old = "older version of the file\n"
	newer := item(s.items[0]["from"], "app/config")
	later := item(s.items[2]["from"], "app/later")
	missing := item("secretsmanager:"+uniq()+"/missing", "app/later")
	unrenderable := item(s.items[0]["from"].(string)+":nokey::", "app/later")

	// withOlder plants the older app/config (a plain file, or with gen a
	// generation written by a successful run), calls more, and checks after
	// the run that app/config is the very file that was there.
	withOlder := func(tc faultCase, gen bool, more func(t *testing.T, dir, outside string)) faultCase {
		var planted os.FileInfo
		tc.prepare = func(t *testing.T, dir, outside string) {
			if gen {
				if res := h.inject(t, specJSON(t, newer), dir); res.code != 0 {
					t.Fatalf("first run: exit %d:\n%s", res.code, redact(res.output, s.secrets))
				}
			} else {
				plantFile(t, filepath.Join(dir, "app", "config"), old, 0o640)
			}
			fi, err := os.Stat(filepath.Join(dir, "app", "config"))
			if err != nil {
				t.Fatal(err)
			}
			planted = fi
			if more != nil {
				more(t, dir, outside)
			}
		}
		tc.check = func(t *testing.T, dir string, _, _ *proxy) {
			fi, err := os.Stat(filepath.Join(dir, "app", "config"))
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(planted, fi) {
				t.Error("app/config is not the file that was there before the run")
			}
		}
		return tc
	}
	// rootImmutable makes the output root unchangeable once ..lock exists
	// (as the injector makes it: mode 0600, or the run would replace it):
	// the new generation cannot be created.
	rootImmutable := func(t *testing.T, dir, _ string) {
		f, err := os.OpenFile(filepath.Join(dir, "..lock"), os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		immutable(t, dir)
	}

	var cases []faultCase
	for _, gen := range []bool{false, true} {
		kind := "plain file"
		if gen {
			kind = "generation"
		}
		cases = append(cases,
			withOlder(faultCase{name: kind + ", later item fails to fetch", spec: specJSON(t, newer, missing),
				wantCode: 3, wantMsg: []string{"ResourceNotFoundException"}}, gen, nil),
			withOlder(faultCase{name: kind + ", later item fails to render", spec: specJSON(t, newer, unrenderable),
				wantCode: 4, wantMsg: []string{"app/later", "not a JSON object"}}, gen, nil),
			withOlder(faultCase{name: kind + ", output root cannot be changed", spec: specJSON(t, newer, later),
				wantCode: 5, wantMsg: []string{"creating the generation directory", "operation not permitted"}}, gen, rootImmutable),
		)
	}
	cases = append(cases, faultCase{name: "success replaces the older file", spec: specJSON(t, newer, later),
		prepare:   func(t *testing.T, dir, _ string) { plantFile(t, filepath.Join(dir, "app", "config"), old, 0o640) },
		wantFiles: map[string]string{"app/config": s.batch, "app/later": s.param},
		check: func(t *testing.T, dir string, _, _ *proxy) {
			fi, err := os.Stat(filepath.Join(dir, "app", "config"))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o400 {
				t.Errorf("app/config mode %v, want 0400", fi.Mode().Perm())
			}
		}})
	runFaultCases(t, s.secrets, cases)
}

// TestFaultsAfterSwitch: the old content of a replaced name cannot be
// removed (a file in it is immutable). The new files are visible, the run
// says so and exits 5, and the next run, once the file can go, removes it.
func TestFaultsAfterSwitch(t *testing.T) {
	s := seedValues(t, false)
	dir := t.TempDir()
	plantFile(t, filepath.Join(dir, "app", "config"), "older\n", 0o640)
	stuck := filepath.Join(dir, "app", "stuck")
	plantFile(t, stuck, "older, immutable\n", 0o640)
	if out, err := exec.Command("chattr", "+i", stuck).CombinedOutput(); err != nil {
		t.Skipf("cannot make a file immutable (needs chattr, CAP_LINUX_IMMUTABLE and a file system that supports it): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		// Wherever the file is by now, it must go with the test's directory.
		moved, _ := filepath.Glob(filepath.Join(dir, "..tmp.*", "stuck"))
		for _, p := range append(moved, stuck) {
			_ = exec.Command("chattr", "-i", p).Run()
		}
	})
	spec := specJSON(t, item(s.items[0]["from"], "app/config"))
	res := h.inject(t, spec, dir)
	assertNoSecret(t, res.output, s.secrets...)
	if res.code != 5 || !strings.Contains(res.output, "the new files are visible, but") || !strings.Contains(res.output, "removing what app held before") {
		t.Fatalf("exit %d, want 5 saying the new files are visible but the old content of app stays:\n%s", res.code, redact(res.output, s.secrets))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app", "config")); err != nil || string(b) != s.batch {
		t.Errorf("app/config does not hold the new value (%d bytes, %v)", len(b), err)
	}
	// The old directory waits under a name of the injector's.
	matches, _ := filepath.Glob(filepath.Join(dir, "..tmp.*", "stuck"))
	if len(matches) != 1 {
		t.Fatalf("old content of app not found under ..tmp.*: %v", matches)
	}
	if out, err := exec.Command("chattr", "-i", matches[0]).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v: %s", err, out)
	}
	before := visibleTree(t, dir)
	h.injectOK(t, spec, dir)
	checkWritten(t, dir, before, visibleTree(t, dir), map[string]string{"app/config": s.batch}, s.secrets...)
}
