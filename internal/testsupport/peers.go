package testsupport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/internal/localpeer"
)

// RequireEnv set to "1" makes a missing moto_server or MinIO a failure
// instead of a skip; scripts/test.sh sets it.
const RequireEnv = "INJECTOR_REQUIRE_INTEGRATION"

// Required reports whether RequireEnv is "1".
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing ends tb because a peer it needs is not installed: a skip, or a
// failure when RequireEnv is "1".
func Missing(tb testing.TB, err error) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%v, and %s=1", err, RequireEnv)
	}
	tb.Skip(err)
}

// LookMoto reports whether moto_server is on PATH.
func LookMoto() error {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return errors.New("moto_server not found")
	}
	return nil
}

// LookMinIO finds the minio binary on PATH or in GOPATH/bin (where
// scripts/test.sh installs it).
func LookMinIO() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("minio not found on PATH or in GOPATH/bin")
}

// RunMoto starts moto_server for tb and stops it when tb ends. A missing
// moto_server is Missing.
func RunMoto(tb testing.TB) *localpeer.Moto {
	tb.Helper()
	if err := LookMoto(); err != nil {
		Missing(tb, err)
	}
	var log Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := localpeer.StartMoto(ctx, &log)
	if err != nil {
		tb.Fatalf("%v\n%s", err, log.String())
	}
	tb.Cleanup(m.Stop)
	return m
}

// The MinIO root credentials and the name of its KMS key.
const (
	MinIOUser     = "injectoradmin"
	MinIOPassword = "injector-minio-secret"
	MinIOKMSKey   = "injector-key"
)

// MinIO is a running MinIO server over TLS on loopback, with a KMS key, so
// that it serves SSE-S3, SSE-KMS and SSE-C.
type MinIO struct {
	URL    string
	CAFile string          // its certificate, to trust (AWS_CA_BUNDLE)
	Cert   tls.Certificate // its certificate and key, for other TLS servers
	Pool   *x509.CertPool  // trusts Cert
	cmd    *exec.Cmd
}

// StartMinIO starts the minio binary bin with its certificates and data
// under dir and its output to out, and waits until it answers.
func StartMinIO(ctx context.Context, bin, dir string, out io.Writer) (*MinIO, error) {
	certs := filepath.Join(dir, "certs")
	m := &MinIO{CAFile: filepath.Join(certs, "public.crt")}
	var err error
	if m.Cert, m.Pool, err = writeCert(certs); err != nil {
		return nil, err
	}
	port, err := localpeer.FreePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := localpeer.FreePort()
	if err != nil {
		return nil, err
	}
	m.URL = "https://127.0.0.1:" + port
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	m.cmd = exec.Command(bin, "server", "--quiet", "--address", "127.0.0.1:"+port,
		"--console-address", "127.0.0.1:"+consolePort, "--certs-dir", certs, filepath.Join(dir, "minio-data"))
	m.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+MinIOUser, "MINIO_ROOT_PASSWORD="+MinIOPassword,
		"MINIO_KMS_SECRET_KEY="+MinIOKMSKey+":"+base64.StdEncoding.EncodeToString(key),
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	m.cmd.Stdout, m.cmd.Stderr = out, out
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.Pool}}}
	if err := localpeer.WaitReady(ctx, c, m.URL+"/minio/health/live", time.Minute); err != nil {
		m.Stop()
		return nil, fmt.Errorf("minio: %w", err)
	}
	return m, nil
}

// RunMinIO is StartMinIO for tb, stopped when tb ends. A missing minio
// is Missing.
func RunMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	bin, err := LookMinIO()
	if err != nil {
		Missing(tb, err)
	}
	var log Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := StartMinIO(ctx, bin, tb.TempDir(), &log)
	if err != nil {
		tb.Fatalf("%v\n%s", err, log.String())
	}
	tb.Cleanup(m.Stop)
	return m
}

// Stop kills MinIO and waits for it.
func (m *MinIO) Stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

// writeCert writes a self-signed certificate for 127.0.0.1 as MinIO expects
// it (public.crt, private.key) and returns it and a pool that trusts it.
func writeCert(dir string) (tls.Certificate, *x509.CertPool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "injector-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "public.crt"), certPEM, 0o600); err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "private.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
