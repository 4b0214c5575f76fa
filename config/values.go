package config

// The types of the settings: each is an envconfig.Decoder that checks its
// variable's text as it decodes it. Decode takes "" as "not given" (the
// zero value, or the default Load gives it) and keeps the reason it refuses
// a text in the value, for validate to report with the variable's name; it
// returns no error, so that envconfig goes on to the next setting.

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ecs-secret-injector/injector/internal/fileperm"
	"github.com/ecs-secret-injector/injector/ref"
)

// refusal is why a setting's text was refused, nil if it was not.
type refusal struct{ err error }

// Root is the output root, INJECTOR_DIR: an absolute path other than the
// file system root.
type Root struct {
	Path string
	refusal
}

// Decode implements envconfig.Decoder.
func (r *Root) Decode(text string) error {
	*r = Root{Path: text}
	switch {
	case text == "":
	case !filepath.IsAbs(text):
		r.err = fmt.Errorf("%q: must be an absolute path", text)
	case filepath.Clean(text) == "/":
		r.err = fmt.Errorf("%q: must not be the file system root", text)
	}
	return nil
}

// Timeout is a positive Go duration (INJECTOR_TIMEOUT).
type Timeout struct {
	D time.Duration
	refusal
}

// Decode implements envconfig.Decoder.
func (t *Timeout) Decode(text string) error {
	*t = Timeout{}
	if text == "" {
		return nil
	}
	d, err := time.ParseDuration(text)
	switch {
	case err != nil:
		t.err = fmt.Errorf("%q: want a duration such as 60s", text)
	case d <= 0:
		t.err = fmt.Errorf("must be positive, not %q", text)
	default:
		t.D = d
	}
	return nil
}

// FileMode is the permission of the files written (ParseFileMode).
type FileMode struct {
	Mode fs.FileMode
	refusal
}

// Decode implements envconfig.Decoder.
func (m *FileMode) Decode(text string) error {
	*m = FileMode{}
	if text != "" {
		m.Mode, m.err = ParseFileMode(text)
	}
	return nil
}

// ParseFileMode parses an INJECTOR_FILE_MODE value such as 0400 or 640,
// by the rules of every file mode written, the settings' and an item's
// (fileperm.ParseMode): octal, readable by the owner, writable by no one
// else, without setuid, setgid or sticky bits.
func ParseFileMode(s string) (fs.FileMode, error) { return fileperm.ParseMode(s) }

// ID is a user or group id (INJECTOR_UID, INJECTOR_GID): -1 (leave as the
// process's) or 0 to MaxID, by the rules of every uid and gid
// (fileperm.ParseID).
type ID struct {
	N int
	refusal
}

// Decode implements envconfig.Decoder.
func (id *ID) Decode(text string) error {
	*id = ID{}
	if text == "" {
		return nil
	}
	id.N, id.err = fileperm.ParseID(text)
	return nil
}

// LogFormat is text or json (INJECTOR_LOG_FORMAT).
type LogFormat struct {
	Name string
	refusal
}

// Decode implements envconfig.Decoder.
func (f *LogFormat) Decode(text string) error {
	*f = LogFormat{}
	switch text {
	case "":
	case "text", "json":
		f.Name = text
	default:
		f.err = fmt.Errorf("%q: want text or json", text)
	}
	return nil
}

// Bool is true or false as strconv.ParseBool reads them
// (INJECTOR_S3_PATH_STYLE).
type Bool struct {
	On bool
	refusal
}

// Decode implements envconfig.Decoder.
func (b *Bool) Decode(text string) error {
	*b = Bool{}
	if text == "" {
		return nil
	}
	v, err := strconv.ParseBool(text)
	if err != nil {
		b.err = fmt.Errorf("%q: want true or false", text)
		return nil
	}
	b.On = v
	return nil
}

// Bytes is a positive number of bytes (INJECTOR_MAX_VALUE_BYTES).
type Bytes struct {
	N int64
	refusal
}

// Decode implements envconfig.Decoder.
func (b *Bytes) Decode(text string) error {
	*b = Bytes{}
	if text == "" {
		return nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v <= 0 {
		b.err = fmt.Errorf("%q: must be a positive number of bytes", text)
		return nil
	}
	b.N = v
	return nil
}

// Concurrency is a number of calls in flight, 1 to MaxConcurrency
// (INJECTOR_CONCURRENCY).
type Concurrency struct {
	N int
	refusal
}

// Decode implements envconfig.Decoder.
func (c *Concurrency) Decode(text string) error {
	*c = Concurrency{}
	if text == "" {
		return nil
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < 1 || v > MaxConcurrency {
		c.err = fmt.Errorf("%q: must be 1 to %d", text, MaxConcurrency)
		return nil
	}
	c.N = v
	return nil
}

// Parameters is a positive number of SSM parameters
// (INJECTOR_SSM_PATH_MAX).
type Parameters struct {
	N int
	refusal
}

// Decode implements envconfig.Decoder.
func (p *Parameters) Decode(text string) error {
	*p = Parameters{}
	if text == "" {
		return nil
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < 1 {
		p.err = fmt.Errorf("%q: must be a positive number of parameters", text)
		return nil
	}
	p.N = v
	return nil
}

// SecretsBatch is when Secrets Manager secrets are read with
// BatchGetSecretValue: auto, always or never (INJECTOR_SECRETS_BATCH).
type SecretsBatch struct {
	Mode string
	refusal
}

// Decode implements envconfig.Decoder.
func (b *SecretsBatch) Decode(text string) error {
	*b = SecretsBatch{}
	switch text {
	case "":
	case "auto", "always", "never":
		b.Mode = text
	default:
		b.err = fmt.Errorf("%q: want auto, always or never", text)
	}
	return nil
}

// RoleARN is an IAM role ARN (INJECTOR_ROLE_ARN).
type RoleARN struct {
	ARN string
	refusal
}

// Decode implements envconfig.Decoder.
func (r *RoleARN) Decode(text string) error {
	*r = RoleARN{}
	if text == "" {
		return nil
	}
	if err := ref.CheckRoleARN(text); err != nil {
		r.err = fmt.Errorf(": %w", err)
		return nil
	}
	r.ARN = text
	return nil
}

// Region is a region name (INJECTOR_FAILOVER_REGION).
type Region struct {
	Name string
	refusal
}

// Decode implements envconfig.Decoder.
func (g *Region) Decode(text string) error {
	*g = Region{}
	if text == "" {
		return nil
	}
	if err := ref.CheckRegion(text); err != nil {
		g.err = fmt.Errorf(": %w", err)
		return nil
	}
	g.Name = text
	return nil
}
