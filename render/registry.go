package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Registry credential rendering.
//
// The formats follow the consumers as read in github.com/aws/amazon-ecs-agent:
//
//   - agent/dockerclient/dockerauth/dockerauth.go (parseAuthData, type
//     "dockercfg"): ECS_ENGINE_AUTH_DATA is unmarshalled with encoding/json
//     into map[registry]{"auth": string}; other fields (email) are ignored.
//     "auth" is decoded with base64.StdEncoding (padded) and split at the
//     FIRST ':' into username and password; entries that fail either step
//     are skipped. A leading "http://" or "https://" is stripped from each
//     registry key. Images on docker.io, index.docker.io or
//     registry-1.docker.io only ever use the key "index.docker.io/v1/";
//     other images use the key equal to their registry host (host[:port]), or
//     the longest key "host/prefix" that the image name starts with.
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
	// dockerHubKey is the key `docker login` writes for Docker Hub and the
	// only Docker Hub key the ECS agent and go-containerregistry look up.
	dockerHubKey = "https://index.docker.io/v1/"

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
func ParseCredential(registry string, secret []byte) (Credential, error) {
	if err := checkRegistry(registry); err != nil {
		return Credential{}, err
	}
	members, err := decodeObject(secret)
	if err != nil {
		return Credential{}, fmt.Errorf("registry %q: credential secret: %w", registry, err)
	}
	c := Credential{Registry: registry}
	fields := map[string]*string{"username": &c.Username, "password": &c.Password, "email": &c.Email}
	seen := make(map[string]bool, len(fields))
	for _, m := range members {
		var name string
		for f := range fields {
			if strings.EqualFold(m.key, f) {
				name = f
			}
		}
		if name == "" {
			continue // unknown fields are ignored
		}
		if seen[name] {
			return Credential{}, fmt.Errorf("registry %q: credential secret has field %q more than once: %w", registry, name, ErrInvalidCredential)
		}
		seen[name] = true
		switch {
		case string(m.raw) == "null":
			// same as absent
		case len(m.raw) > 0 && m.raw[0] == '"':
			text, err := valueText(m.raw)
			if err != nil {
				return Credential{}, fmt.Errorf("registry %q: credential field %q: %w", registry, name, err)
			}
			*fields[name] = string(text)
		default:
			return Credential{}, fmt.Errorf("registry %q: credential field %q must be a string: %w", registry, name, ErrInvalidCredential)
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
	case !utf8.ValidString(c.Email) || strings.ContainsFunc(c.Email, needsJSONEscape):
		return fail("email is not valid UTF-8 or contains a quote, backslash or control character")
	}
	return nil
}

// checkRegistry accepts registry names without whitespace, control
// characters, quotes or backslashes: such names are never valid hosts, and
// excluding them keeps the ecs.config line free of escapes.
func checkRegistry(registry string) error {
	switch {
	case registry == "":
		return fmt.Errorf("registry name is empty: %w", ErrInvalidCredential)
	case !utf8.ValidString(registry):
		return fmt.Errorf("registry name is not valid UTF-8: %w", ErrInvalidCredential)
	case strings.ContainsFunc(registry, func(r rune) bool { return r == ' ' || needsJSONEscape(r) || r == 0x7f }):
		return fmt.Errorf("registry %q: name contains whitespace, a quote, a backslash or a control character: %w", registry, ErrInvalidCredential)
	}
	return nil
}

func needsJSONEscape(r rune) bool {
	return r < 0x20 || r == '"' || r == '\\' || r == '\u2028' || r == '\u2029'
}

// stripScheme removes the scheme the ECS agent strips from registry keys.
func stripScheme(registry string) string {
	if s, ok := strings.CutPrefix(registry, "https://"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(registry, "http://"); ok {
		return s
	}
	return registry
}

// registryKey is the key a credential is written under: Docker Hub aliases
// ("docker.io", "index.docker.io", "registry-1.docker.io", with or without
// scheme and "/v1/") become "https://index.docker.io/v1/", the only Docker
// Hub key that the ECS agent, the docker CLI and go-containerregistry all
// look up; every other registry is written as given.
func registryKey(registry string) string {
	host, path, _ := strings.Cut(stripScheme(registry), "/")
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		if path == "" || path == "v1" || path == "v1/" {
			return dockerHubKey
		}
	}
	return registry
}

// authEntry is one registry in a rendered document.
type authEntry struct {
	key   string // registry key as written
	auth  string // base64(username:password)
	email string
}

// authEntries validates creds and returns one entry per registry, sorted by
// key. Two credentials whose registries the ECS agent would treat as the same
// key (after Docker Hub aliasing, scheme stripping and a trailing '/') are an
// error.
func authEntries(creds []Credential) ([]authEntry, error) {
	if len(creds) == 0 {
		return nil, ErrNoCredentials
	}
	byIdentity := make(map[string]string, len(creds)) // identity -> registry as given
	entries := make([]authEntry, 0, len(creds))
	for _, c := range creds {
		if err := c.check(); err != nil {
			return nil, err
		}
		key := registryKey(c.Registry)
		identity := strings.TrimSuffix(stripScheme(key), "/")
		if prev, dup := byIdentity[identity]; dup {
			if prev == c.Registry {
				return nil, fmt.Errorf("registry %q has more than one credential: %w", c.Registry, ErrDuplicateRegistry)
			}
			return nil, fmt.Errorf("registries %q and %q name the same registry: %w", prev, c.Registry, ErrDuplicateRegistry)
		}
		byIdentity[identity] = c.Registry
		entries = append(entries, authEntry{
			key:   key,
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		// Only strings and maps of strings are encoded; this cannot fail, and
		// the error (which could quote a value) is not passed on.
		return nil, fmt.Errorf("encode registry credentials: %w", ErrInvalidCredential)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type dockercfgEntry struct {
	Auth  string `json:"auth"`
	Email string `json:"email"`
}

func dockerCfgDoc(creds []Credential) ([]byte, error) {
	entries, err := authEntries(creds)
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
// Docker Hub aliases are written as "https://index.docker.io/v1/".
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
// followed by a newline. Docker Hub aliases are written as
// "https://index.docker.io/v1/".
func DockerConfigJSON(creds []Credential) ([]byte, error) {
	entries, err := authEntries(creds)
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
