package integration_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-secret-injector/injector/internal/localpeer"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

const (
	region     = "us-east-1"
	accessKey  = testsupport.MinIOUser
	secretKey  = testsupport.MinIOPassword
	kmsKeyName = testsupport.MinIOKMSKey
	requireEnv = testsupport.RequireEnv
)

// harness is the set of real protocol peers the tests drive the injector
// against: moto_server (Secrets Manager, SSM, KMS) behind a counting, fault
// injecting proxy, and MinIO over TLS (S3 with SSE-S3, SSE-KMS, SSE-C).
type harness struct {
	dir         string
	bin         string
	moto        string // proxy URL in front of moto
	motoDirect  string // moto itself, for seeding and for other proxies
	minio       string
	caFile      string
	pool        *x509.CertPool  // trusts MinIO's certificate
	cert        tls.Certificate // MinIO's, also served by TLS proxies
	proxy       *proxy
	sm          *secretsmanager.Client
	ssm         *ssm.Client
	s3          *s3.Client
	motoServer  *localpeer.Moto
	minioServer *testsupport.MinIO
}

// h is shared by the package's tests: starting the servers once keeps the
// suite fast. It is set up in TestMain and never reassigned.
var h *harness

func TestMain(m *testing.M) {
	os.Exit(mainWithHarness(m))
}

func mainWithHarness(m *testing.M) int {
	err1 := testsupport.LookMoto()
	minioBin, err2 := testsupport.LookMinIO()
	if err := errors.Join(err1, err2); err != nil {
		if testsupport.Required() {
			fmt.Fprintf(os.Stderr, "integration: %v (needed because %s=1)\n", err, requireEnv)
			return 1
		}
		fmt.Fprintf(os.Stderr, "integration: skipping, %v (run scripts/test.sh to install)\n", err)
		return 0
	}
	var err error
	h, err = start(minioBin)
	if h != nil {
		defer h.stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: starting harness: %v\n", err)
		return 1
	}
	return m.Run()
}

func start(minioBin string) (*harness, error) {
	dir, err := os.MkdirTemp("", "injector-it-")
	if err != nil {
		return nil, err
	}
	hs := &harness{dir: dir}
	if hs.bin, err = testsupport.BuildInjector(dir); err != nil {
		return hs, fmt.Errorf("building injector: %w", err)
	}

	motoLog, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		return hs, err
	}
	if hs.motoServer, err = localpeer.StartMoto(context.Background(), motoLog); err != nil {
		return hs, fmt.Errorf("%w (see %s)", err, motoLog.Name())
	}
	motoURL := hs.motoServer.URL
	hs.motoDirect = motoURL
	if hs.proxy, err = newProxy(motoURL, nil); err != nil {
		return hs, err
	}
	if hs.moto, err = hs.proxy.listen(nil); err != nil {
		return hs, err
	}

	minioLog, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return hs, err
	}
	if hs.minioServer, err = testsupport.StartMinIO(context.Background(), minioBin, dir, minioLog); err != nil {
		return hs, fmt.Errorf("%w (see %s)", err, minioLog.Name())
	}
	hs.minio, hs.caFile = hs.minioServer.URL, hs.minioServer.CAFile
	hs.cert, hs.pool = hs.minioServer.Cert, hs.minioServer.Pool

	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.TLSClientConfig = &tls.Config{RootCAs: hs.pool}
		}),
	}
	hs.sm = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(motoURL) })
	hs.ssm = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(motoURL) })
	hs.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(hs.minio)
		o.UsePathStyle = true
	})
	return hs, nil
}

func (hs *harness) stop() {
	if hs.proxy != nil {
		hs.proxy.close()
	}
	if hs.motoServer != nil {
		hs.motoServer.Stop()
	}
	if hs.minioServer != nil {
		hs.minioServer.Stop()
	}
	_ = os.RemoveAll(hs.dir)
}

func freePort() (string, error) { return localpeer.FreePort() }

// connCounter is a loopback TCP listener that accepts connections, counts
// them and closes them: an AWS endpoint that proves no call was tried.
type connCounter struct {
	tb     testing.TB
	addr   string
	url    string
	n      atomic.Int64  // connections accepted, probes included
	probes atomic.Int64  // probes seen
	probed chan struct{} // a probe was seen
}

const probeMark = "PROBE"

// countConnections starts a connCounter, closed when tb ends.
func countConnections(tb testing.TB) *connCounter {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	c := &connCounter{tb: tb, addr: l.Addr().String(), url: "http://" + l.Addr().String(), probed: make(chan struct{}, 1)}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.n.Add(1)
			go func() {
				defer conn.Close()
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, len(probeMark))
				if _, err := io.ReadFull(conn, buf); err == nil && string(buf) == probeMark {
					c.probes.Add(1)
					c.probed <- struct{}{}
				}
			}()
		}
	}()
	return c
}

// count is the number of connections accepted so far, not counting its own
// probe: the probe goes through the listener's queue after any connection
// made before the call, so those are all counted by the time it is seen.
func (c *connCounter) count() int64 {
	c.tb.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", c.addr)
	if err != nil {
		c.tb.Fatalf("probing the connection counter: %v", err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, probeMark); err != nil {
		c.tb.Fatalf("probing the connection counter: %v", err)
	}
	select {
	case <-c.probed:
	case <-time.After(time.Minute):
		c.tb.Fatal("the connection counter did not see its probe")
	}
	return c.n.Load() - c.probes.Load()
}

// proxy forwards to moto or MinIO, counts calls by operation and can inject
// faults (a delay, an AWS error, a dropped or truncated answer).
type proxy struct {
	rp  *httputil.ReverseProxy
	tr  *http.Transport
	srv *http.Server

	mu      sync.Mutex
	calls   map[string]int // by opName
	st      proxyStats
	fault   faultFunc
	observe func(*http.Request)
}

// proxyStats sums up what a proxy saw since its last reset.
type proxyStats struct {
	total      int // calls
	failed     int // calls answered with an injected AWS error
	maxAttempt int // highest amz-sdk-request attempt number seen
}

// faultFunc says what to do to r, the n-th call of operation op.
type faultFunc func(r *http.Request, op string, n int) fault

// fault is what the proxy does to one call instead of forwarding it as is.
type fault struct {
	delay    time.Duration
	status   int    // answer with this status and an AWS error body
	code     string // the AWS error code for status
	drop     bool   // read the request, then close the connection without an answer
	truncate bool   // forward, but cut the body off halfway and close the connection
	body     string // answer 200 with this JSON body (AWS JSON protocols)
	// xml, with status, is the answer's XML body (AWS query protocols, STS).
	xml string
	// rewrite, if set, forwards the call and answers with rewrite applied
	// to the upstream's answer body.
	rewrite func(body []byte) []byte
}

// newProxy returns a proxy to upstream, trusting pool when it is https. The
// Host header is passed through, so SigV4 signatures made for the proxy's
// address still verify upstream.
func newProxy(upstream string, pool *x509.CertPool) (*proxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	p := &proxy{calls: map[string]int{}}
	p.tr = http.DefaultTransport.(*http.Transport).Clone()
	p.tr.MaxIdleConnsPerHost = 256 // a fleet of injectors at once
	p.tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		Transport: p.tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// An injector that gave up cancels its calls: not news.
			if r.Context().Err() == nil {
				log.Printf("test proxy: %s %s: %v", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	return p, nil
}

// listen serves p on a free loopback port, over TLS with cert unless it is
// nil, and returns its URL.
func (p *proxy) listen(cert *tls.Certificate) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	scheme := "http"
	if cert != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*cert}})
		scheme = "https"
	}
	go func() { _ = p.srv.Serve(l) }()
	return scheme + "://" + l.Addr().String(), nil
}

func (p *proxy) close() {
	_ = p.srv.Close()
	p.tr.CloseIdleConnections()
}

// startProxy starts a proxy of its own in front of upstream (hs.motoDirect
// or hs.minio), for a test that injects faults while others run in parallel
// or for a benchmark; with withTLS it serves TLS with the harness
// certificate, which the injector trusts. It is closed when tb ends.
func (hs *harness) startProxy(tb testing.TB, upstream string, withTLS bool) (*proxy, string) {
	tb.Helper()
	p, err := newProxy(upstream, hs.pool)
	if err != nil {
		tb.Fatal(err)
	}
	var cert *tls.Certificate
	if withTLS {
		cert = &hs.cert
	}
	u, err := p.listen(cert)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.close)
	return p, u
}

// opName names a call: the X-Amz-Target operation of the JSON protocols
// (Secrets Manager, SSM), or for path-style S3 the method and whether the
// path names an object or a bucket (GetObject, HeadObject, PutBucket, ...).
func opName(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndexByte(t, '.')+1:]
	}
	kind := "Bucket"
	if strings.Contains(strings.Trim(r.URL.Path, "/"), "/") {
		kind = "Object"
	}
	switch r.Method {
	case http.MethodGet:
		return "Get" + kind
	case http.MethodHead:
		return "Head" + kind
	case http.MethodPut:
		return "Put" + kind
	default:
		return r.Method + kind
	}
}

// sdkAttempt returns N from the SDK's "attempt=N; max=M" request header.
func sdkAttempt(h string) string {
	for part := range strings.SplitSeq(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			return v
		}
	}
	return ""
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := opName(r)
	attempt, _ := strconv.Atoi(sdkAttempt(r.Header.Get("Amz-Sdk-Request")))
	p.mu.Lock()
	p.calls[name]++
	n := p.calls[name]
	p.st.total++
	p.st.maxAttempt = max(p.st.maxAttempt, attempt)
	faultFn, observe := p.fault, p.observe
	p.mu.Unlock()
	if observe != nil {
		observe(r)
	}
	var f fault
	if faultFn != nil {
		f = faultFn(r, name, n)
	}
	if f.status != 0 {
		p.mu.Lock()
		p.st.failed++
		p.mu.Unlock()
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.drop:
		// The request is read to its end first: the client writes the
		// headers and the body separately, and a connection closed
		// between the two fails the write instead ("use of closed
		// network connection", "broken pipe", "connection reset"),
		// whichever of the client's reader and writer sees the close
		// first. A peer that has the request and drops it, the fault
		// here, is noticed by the reader alone, as EOF.
		_, _ = io.Copy(io.Discard, r.Body)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	case f.status != 0 && f.xml != "":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.xml)
	case f.status != 0 && r.Header.Get("X-Amz-Target") == "":
		// S3 answers errors in XML.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>injected by test proxy</Message><RequestId>test-proxy</RequestId></Error>`, f.code)
	case f.status != 0:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", f.code)
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"__type":%q,"message":"injected by test proxy"}`, f.code)
	case f.truncate:
		p.serveTruncated(w, r)
	case f.rewrite != nil:
		p.serveRewritten(w, r, f.rewrite)
	case f.body != "":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "test-proxy")
		_, _ = io.WriteString(w, f.body)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// serveTruncated forwards r, then sends the answer's headers with its full
// Content-Length but only half its body, and closes the connection.
func (p *proxy) serveTruncated(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
		}
	}
}

// serveRewritten forwards r and answers with rewrite applied to the
// answer's body, without a Content-Length when the body is large (the
// server then sends it chunked).
func (p *proxy) serveRewritten(w http.ResponseWriter, r *http.Request, rewrite func([]byte) []byte) {
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	body := rewrite(rec.Body.Bytes())
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// onRequest sets a function that sees every request (nil for none).
func (p *proxy) onRequest(fn func(*http.Request)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.observe = fn
}

// reset clears counts and stats and sets the fault function (nil for none).
func (p *proxy) reset(fn faultFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
	p.st = proxyStats{}
	p.fault = fn
}

// count is the number of calls of op.
func (p *proxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// counts is the number of calls of each operation.
func (p *proxy) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

func (p *proxy) stats() proxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// run is the outcome of one injector process.
type run struct {
	code      int
	output    string
	wall, cpu time.Duration
	maxRSSKiB int64 // peak resident set size
}

var peakRSSField = regexp.MustCompile(`peak_rss_kib=(\d+)`)

// peakRSS is the peak RSS in KiB a process reported about itself (the
// injector on success, the baseline), or -1.
func peakRSS(output string) int64 {
	m := peakRSSField.FindStringSubmatch(output)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// env is the injector's environment with Secrets Manager and SSM at awsURL
// and S3 at s3URL, trusting the harness certificate (MinIO's and the TLS
// proxies').
func (hs *harness) env(awsURL, s3URL string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + hs.dir,
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_REGION=" + region,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + awsURL,
		"AWS_ENDPOINT_URL_SSM=" + awsURL,
		"AWS_ENDPOINT_URL_S3=" + s3URL,
		"AWS_CA_BUNDLE=" + hs.caFile,
		"INJECTOR_S3_PATH_STYLE=true",
	}
}

// runInjector runs the built injector once with env (killed after timeout)
// and measures it. An exit code is not an error; failing to run is.
func (hs *harness) runInjector(env []string, timeout time.Duration) (run, error) {
	return runBinary(hs.bin, env, timeout)
}

// runBinary runs bin once with env and args (killed after timeout) and
// measures it.
func runBinary(bin string, env []string, timeout time.Duration, args ...string) (run, error) {
	return runBinaryAs(bin, env, timeout, nil, args...)
}

// runBinaryAs is runBinary with the process's credentials cred (nil: the
// test's own).
func runBinaryAs(bin string, env []string, timeout time.Duration, cred *syscall.Credential, args ...string) (run, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := run{output: out.String(), wall: time.Since(start)}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, fmt.Errorf("running %s: %w", filepath.Base(bin), err)
	}
	r.code = cmd.ProcessState.ExitCode()
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	// What the process measured itself is exact; wait4's ru_maxrss counts
	// the address space it borrowed from this (large) process through
	// vfork before exec, so it is only the fallback.
	if n := peakRSS(r.output); n > 0 {
		r.maxRSSKiB = n
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKiB = ru.Maxrss // KiB on Linux
	}
	return r, nil
}

// inject runs the built injector with a spec into dir, against moto through
// the harness's proxy and MinIO. extra adds or overrides environment
// variables (NAME=value).
func (hs *harness) inject(t *testing.T, spec, dir string, extra ...string) run {
	t.Helper()
	env := slices.Concat(hs.env(hs.moto, hs.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec}, extra)
	r, err := hs.runInjector(env, 2*time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, r.output)
	}
	return r
}

// injectOK clears the harness proxy's counts, runs inject and fails t unless
// the injector exits 0.
func (hs *harness) injectOK(t *testing.T, spec, dir string) run {
	t.Helper()
	hs.proxy.reset(nil)
	res := hs.inject(t, spec, dir)
	if res.code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", res.code, res.output)
	}
	return res
}
