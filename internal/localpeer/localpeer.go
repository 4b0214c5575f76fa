// Package localpeer starts moto_server, a local stand-in for AWS Secrets
// Manager, SSM and KMS, for the local demo and the integration tests.
package localpeer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// WaitReady polls u until it answers below 500 or budget runs out.
func WaitReady(ctx context.Context, c *http.Client, u string, budget time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", u, budget, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Moto is a running moto_server.
type Moto struct {
	URL string
	cmd *exec.Cmd
}

// StartMoto starts moto_server on a free loopback port, with its output to
// out, and waits until it answers.
func StartMoto(ctx context.Context, out io.Writer) (*Moto, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server (is it installed?): %w", err)
	}
	m := &Moto{URL: "http://127.0.0.1:" + port, cmd: cmd}
	if err := WaitReady(ctx, http.DefaultClient, m.URL+"/moto-api/", time.Minute); err != nil {
		m.Stop()
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	return m, nil
}

// PID is the moto_server process id.
func (m *Moto) PID() int { return m.cmd.Process.Pid }

// Stop kills moto_server and waits for it.
func (m *Moto) Stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}
