package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/registry"
	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Registry credential rendering.
//
// Which keys are written, and which names and combinations are refused, is
// decided in internal/registry (shared with the planner, which refuses them
// before anything is fetched). The document formats follow their consumers
// as read in github.com/aws/amazon-ecs-agent:
//
//   - agent/dockerclient/dockerauth/dockerauth.go (parseAuthData, type
//     "dockercfg"): ECS_ENGINE_AUTH_DATA is unmarshalled with encoding/json
//     into map[registry]{"auth": string}; other fields (email) are ignored.
//     "auth" is decoded with base64.StdEncoding (padded) and split at the
//     FIRST ':' into username and password; entries that fail either step
//     are skipped. A leading "http://" or "https://" is stripped from each
//     registry key. Images on docker.io, index.docker.io or
//     registry-1.docker.io only ever use the key "index.docker.io/v1/".
//     Other images use a key whose host (before the first '/') is the
//     image's registry host: the key equal to the host if there is one,
//     otherwise whichever such key Go's map iteration yields first. It does
//     not match the longest prefix of the image name reliably, so a dockercfg
//     document holds at most one registry per host.
//   - ecs-init/docker/docker.go (getEnvVars): /etc/ecs/ecs.config is split into
//     lines, each line is TrimSpace'd and cut at the first '='; the value is
//     used verbatim (no quote or escape processing, no comments), and a later
//     line for the same key wins.
//   - packaging/amazon-linux-ami-integrated/ecs.service also loads the file as
//     a systemd EnvironmentFile, and manual installs pass it to
//     `docker run --env-file`; so the rendered value contains no whitespace,
//     no backslash and does not start with a quote, which every one of those
//     parsers reads identically.
//   - agent/asm/asm.go (extractASMValue): the repositoryCredentials secret is
//     JSON with "username" and "password" (matched case-insensitively by
//     encoding/json), both required and non-empty.

const (
	ecsAuthTypeVar = "ECS_ENGINE_AUTH_TYPE"
	ecsAuthDataVar = "ECS_ENGINE_AUTH_DATA"
)

// Credential is one registry login, from a secret holding {"username","password"}
// (the ECS repositoryCredentials format).
type Credential struct {
	Registry string
	Username string
	Password string
	Email    string
}

// ParseCredential parses the secret JSON (fields username, password required,
// non-empty; unknown fields ignored) for registry.
//
// Field names match case-insensitively, as in the ECS agent; an optional
// "email" string is kept. A field given twice (in any case) is an error.
func ParseCredential(registryName string, secret []byte) (Credential, error) {
	if err := checkRegistry(registryName); err != nil {
		return Credential{}, err
	}
	members, err := strictjson.Object(secret)
	if err != nil {
		return Credential{}, fmt.Errorf("registry %q: credential secret: %w", registryName, err)
	}
	c := Credential{Registry: registryName}
	fields := map[string]*string{"username": &c.Username, "password": &c.Password, "email": &c.Email}
	seen := make(map[string]bool, len(fields))
	for _, m := range members {
		var name string
		for f := range fields {
			if strings.EqualFold(m.Key, f) {
				name = f
			}
		}
		if name == "" {
			continue // unknown fields are ignored
		}
		if seen[name] {
			return Credential{}, fmt.Errorf("registry %q: credential secret has field %q more than once: %w", registryName, name, ErrInvalidCredential)
		}
		seen[name] = true
		switch v := m.Value.(type) {
		case nil:
			// same as absent
		case string:
			*fields[name] = v
		default:
			return Credential{}, fmt.Errorf("registry %q: credential field %q must be a string: %w", registryName, name, ErrInvalidCredential)
		}
	}
	if err := c.check(); err != nil {
		return Credential{}, err
	}
	return c, nil
}

// check validates a credential for every output format. Its errors name the
// registry and the field, never the field's value.
func (c Credential) check() error {
	if err := checkRegistry(c.Registry); err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("registry %q: %s: %w", c.Registry, fmt.Sprintf(format, args...), ErrInvalidCredential)
	}
	switch {
	case c.Username == "":
		return fail("username is missing or empty")
	case c.Password == "":
		return fail("password is missing or empty")
	case strings.Contains(c.Username, ":"):
		// Docker and the ECS agent split "user:pass" at the first colon.
		return fail("username contains ':', which cannot be encoded in a docker auth string")
	case strings.Contains(c.Username, "\x00"), strings.Contains(c.Password, "\x00"):
		// The docker CLI trims NUL bytes from decoded passwords.
		return fail("username or password contains a NUL byte")
	}
	if err := registry.CheckEmail(c.Email); err != nil {
		return fail("%s", err)
	}
	return nil
}

// checkRegistry checks a registry name on its own (see registry.Parse).
func checkRegistry(name string) error {
	if _, err := registry.Parse(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	return nil
}

// authEntry is one registry in a rendered document.
type authEntry struct {
	key   string // registry key as written
	auth  string // base64(username:password)
	email string
}

// authEntries validates creds and returns one entry per registry, sorted by
// key. Names that clients would read as the same registry are an error, and
// with hostOnly (the documents the ECS agent reads) so are two names with the
// same host; the planner refuses both before anything is fetched.
func authEntries(creds []Credential, hostOnly bool) ([]authEntry, error) {
	if len(creds) == 0 {
		return nil, ErrNoCredentials
	}
	given := make([]string, len(creds))
	for i, c := range creds {
		if err := c.check(); err != nil {
			return nil, err
		}
		given[i] = c.Registry
	}
	names, err := registry.Check(given, hostOnly)
	if errors.Is(err, registry.ErrInvalidName) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	if err != nil {
		return nil, err
	}
	entries := make([]authEntry, 0, len(creds))
	for i, c := range creds {
		entries = append(entries, authEntry{
			key:   names[i].Key,
			auth:  base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)),
			email: c.Email,
		})
	}
	slices.SortFunc(entries, func(a, b authEntry) int { return strings.Compare(a.key, b.key) })
	return entries, nil
}

// marshalJSON encodes v without HTML escaping (so no "\u003c" backslashes
// appear) and without a trailing newline.
func marshalJSON(v any, indent string) ([]byte, error) {
	b, err := strictjson.Marshal(v, indent)
	if err != nil {
		// Only strings and maps of strings are encoded; this cannot fail, and
		// the error (which could quote a value) is not passed on.
		return nil, fmt.Errorf("encode registry credentials: %w", ErrInvalidCredential)
	}
	return b, nil
}

type dockercfgEntry struct {
	Auth  string `json:"auth"`
	Email string `json:"email"`
}

func dockerCfgDoc(creds []Credential) ([]byte, error) {
	entries, err := authEntries(creds, true)
	if err != nil {
		return nil, err
	}
	doc := make(map[string]dockercfgEntry, len(entries))
	for _, e := range entries {
		doc[e.key] = dockercfgEntry{Auth: e.auth, Email: e.email}
	}
	return marshalJSON(doc, "")
}

// DockerCfg: the ECS agent's legacy "dockercfg" JSON without "auths":
// {"registry": {"auth": base64(user:pass), "email": "..."}}.
//
// The document is compact JSON on one line (keys sorted) followed by a
// newline; "email" is always present, as in the legacy .dockercfg format.
// Docker Hub spellings are written as "https://index.docker.io/v1/". Two
// registries with the same host are an error: the ECS agent keys these
// credentials by host.
func DockerCfg(creds []Credential) ([]byte, error) {
	doc, err := dockerCfgDoc(creds)
	if err != nil {
		return nil, fmt.Errorf("dockercfg: %w", err)
	}
	return append(doc, '\n'), nil
}

type dockerConfigEntry struct {
	Auth  string `json:"auth"`
	Email string `json:"email,omitempty"`
}

type dockerConfig struct {
	Auths map[string]dockerConfigEntry `json:"auths"`
}

// DockerConfigJSON: docker config.json: {"auths": {"registry": {"auth": base64(user:pass)}}}
// (add email only if non-empty).
//
// The document is tab-indented like the docker CLI writes it, keys sorted,
// followed by a newline. Docker Hub spellings are written as
// "https://index.docker.io/v1/"; other names as given, paths included
// (Kaniko and crane match them against the repository).
func DockerConfigJSON(creds []Credential) ([]byte, error) {
	entries, err := authEntries(creds, false)
	if err != nil {
		return nil, fmt.Errorf("docker config.json: %w", err)
	}
	doc := dockerConfig{Auths: make(map[string]dockerConfigEntry, len(entries))}
	for _, e := range entries {
		doc.Auths[e.key] = dockerConfigEntry{Auth: e.auth, Email: e.email}
	}
	out, err := marshalJSON(doc, "\t")
	if err != nil {
		return nil, fmt.Errorf("docker config.json: %w", err)
	}
	return append(out, '\n'), nil
}

// ECSConfig merges ECS_ENGINE_AUTH_TYPE=dockercfg and ECS_ENGINE_AUTH_DATA=<DockerCfg JSON on one line>
// into an existing /etc/ecs/ecs.config (existing may be nil), keeping every other line in place and order,
// replacing earlier ECS_ENGINE_AUTH_TYPE/DATA lines.
//
// A line is an auth line when, trimmed of surrounding white space, its text
// before the first '=' (also trimmed) is one of the two names; comments are
// other lines. All auth lines are removed and the new pair is written where
// the first of them was, or appended at the end. Other lines are kept byte
// for byte; the output ends with a newline.
func ECSConfig(existing []byte, creds []Credential) ([]byte, error) {
	doc, err := dockerCfgDoc(creds)
	if err != nil {
		return nil, fmt.Errorf("ecs.config: %w", err)
	}
	var out bytes.Buffer
	writeAuth := func() {
		out.WriteString(ecsAuthTypeVar + "=dockercfg\n")
		out.WriteString(ecsAuthDataVar + "=")
		out.Write(doc)
		out.WriteByte('\n')
	}
	written := false
	rest := existing
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if isECSAuthLine(line) {
			if !written {
				writeAuth()
				written = true
			}
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	if !written {
		writeAuth()
	}
	return out.Bytes(), nil
}

func isECSAuthLine(line []byte) bool {
	key, _, ok := bytes.Cut(bytes.TrimSpace(line), []byte("="))
	if !ok {
		return false
	}
	switch string(bytes.TrimSpace(key)) {
	case ecsAuthTypeVar, ecsAuthDataVar:
		return true
	}
	return false
}
