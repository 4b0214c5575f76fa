package formats

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Registry credential rendering.
//
// Which keys are written, and which names and combinations are refused, is
// decided by the registry names below (the registry formats' CheckLogins
// and CheckItem use them too, so the planner refuses them
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

// login is the part the registry formats share: their items take a
// registry and an email, items with the same path merge, and the value is
// a registry login.
type login struct{ base }

func (login) Fields() Fields { return Fields{Login: true} }

func (login) CheckItem(it Item) error {
	if it.Registry == "" && it.Email == "" {
		return fmt.Errorf("format %s needs registry", it.Format)
	}
	if _, err := parseRegistry(it.Registry); err != nil {
		return err
	}
	if err := checkEmail(it.Email); err != nil {
		return fmt.Errorf("registry %q: %w", it.Registry, err)
	}
	return nil
}

// hostOnly is CheckLogins of the documents the ECS agent reads, which key
// credentials by host (dockercfg, ecs-config).
func hostOnly(registries []string) error {
	_, err := checkRegistries(registries, true)
	return err
}

// credentials parses the output's logins.
func credentials(s Source) ([]Credential, error) {
	creds := make([]Credential, 0, len(s.Logins))
	for _, l := range s.Logins {
		cred, err := ParseCredential(l.Registry, l.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Ref, err)
		}
		cred.Email = l.Email
		creds = append(creds, cred)
	}
	return creds, nil
}

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
	if err := checkEmail(c.Email); err != nil {
		return fail("%s", err)
	}
	return nil
}

// checkRegistry checks a registry name on its own (see parseRegistry).
func checkRegistry(name string) error {
	if _, err := parseRegistry(name); err != nil {
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
	names, err := checkRegistries(given, hostOnly)
	if errors.Is(err, errInvalidRegistry) {
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

// Registry names. Container registries are named the way the clients that read
// injected credentials look them up: the ECS agent (dockercfg, ecs-config)
// and docker clients such as the docker CLI, Kaniko and crane
// (dockerconfigjson).
//
// The planner uses it to refuse, before anything is fetched, names that no
// client would look up and documents that clients would read ambiguously;
// the renderer uses it to write the keys.
//
// What the ECS agent does, as read in github.com/aws/amazon-ecs-agent,
// agent/dockerclient/dockerauth/dockerauth.go: parseAuthData strips a leading
// "http://" or "https://" from each key and keeps the keys in a Go map.
// GetAuthconfig takes the image's registry host (host[:port]; docker.io for
// images without one). For docker.io, index.docker.io and
// registry-1.docker.io it reads only the key "index.docker.io/v1/". For other
// hosts it starts from the key equal to the host, if there is one; if not, it
// takes whichever key with that host the map iteration yields first, and
// then moves to a longer key only when the image name starts with it (as a
// string: ghcr.io/org also matches ghcr.io/organization/app). So two keys
// for one host with no bare-host key (ghcr.io/org-a and ghcr.io/org-b) give
// a different credential from one pull to the next, whatever the image. The
// agent keys credentials by host, and a document for it holds one name per
// host. In config.json (dockerconfigjson) paths are kept: the docker CLI
// looks up "auths" by host, go-containerregistry (Kaniko, crane) by the full
// repository name and then by host, and containers/image (podman, buildah,
// skopeo) by the longest matching namespace.

// dockerHubKey is the key `docker login` writes for Docker Hub and the only
// Docker Hub key that the ECS agent, the docker CLI and go-containerregistry
// look up.
const dockerHubKey = "https://index.docker.io/v1/"

var (
	// errInvalidRegistry reports a registry name that cannot be written as a key
	// that clients look up.
	errInvalidRegistry = errors.New("invalid registry name")
	// ErrDuplicateRegistry reports two names in one document that clients cannot
	// tell apart.
	ErrDuplicateRegistry = errors.New("conflicting registries")
)

// registryName is a registry name as given, checked and split up.
type registryName struct {
	Given string // as written in the spec
	Key   string // the key written in the document
	// ID tells registries apart: the key without scheme and trailing '/'.
	ID string
	// Host is host[:port], the part before the first '/' of ID.
	Host string
}

// parseRegistry checks one registry name. Docker Hub spellings (docker.io,
// index.docker.io, registry-1.docker.io, with or without scheme, with or
// without a /v1/ or /v2/ API path) become dockerHubKey; Docker Hub with any
// other path is refused, as no client would read that key. Other names are
// written as given.
func parseRegistry(given string) (registryName, error) {
	fail := func(why string) (registryName, error) {
		return registryName{}, fmt.Errorf("registry %q: %s: %w", given, why, errInvalidRegistry)
	}
	switch {
	case given == "":
		return registryName{}, fmt.Errorf("registry name is empty: %w", errInvalidRegistry)
	case !utf8.ValidString(given):
		return registryName{}, fmt.Errorf("registry name is not valid UTF-8: %w", errInvalidRegistry)
	case strings.ContainsFunc(given, needsEscape):
		return fail("name contains whitespace, a quote, a backslash or a control character")
	}
	rest := given
	if scheme, after, ok := strings.Cut(given, "://"); ok {
		if scheme != "https" && scheme != "http" {
			return fail("the only schemes are https:// and http://")
		}
		rest = after
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" {
		return fail("no host")
	}
	if isDockerHub(host) {
		switch strings.Trim(path, "/") {
		case "", "v1", "v2":
			return registryName{Given: given, Key: dockerHubKey, ID: "index.docker.io/v1", Host: "index.docker.io"}, nil
		}
		return fail("Docker Hub credentials cannot be limited to a path: every docker client and the ECS agent " +
			"look up Docker Hub as " + dockerHubKey + " only, so give docker.io")
	}
	return registryName{Given: given, Key: given, ID: strings.TrimSuffix(rest, "/"), Host: host}, nil
}

func isDockerHub(host string) bool {
	switch strings.ToLower(host) {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// checkRegistries parses the registry names of one document. Two names that clients
// read as the same registry (after Docker Hub spellings, scheme and a
// trailing '/' are folded) are an error; with hostOnly (the documents the
// ECS agent reads: dockercfg, ecs-config) so are two names with the same
// host. Errors name both registries. The names are returned in the order
// given.
func checkRegistries(given []string, hostOnly bool) ([]registryName, error) {
	names := make([]registryName, 0, len(given))
	var errs []error
	for _, g := range given {
		n, err := parseRegistry(g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, n)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, a := range names {
		for _, b := range names[:i] {
			if err := conflict(b, a, hostOnly); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return names, nil
}

func conflict(a, b registryName, hostOnly bool) error {
	switch {
	case a.Given == b.Given:
		return fmt.Errorf("registry %q appears twice: %w", a.Given, ErrDuplicateRegistry)
	case a.Key == dockerHubKey && b.Key == dockerHubKey:
		return fmt.Errorf("registries %q and %q both name Docker Hub (%s): %w", a.Given, b.Given, dockerHubKey, ErrDuplicateRegistry)
	case a.ID == b.ID:
		return fmt.Errorf("registries %q and %q name the same registry: %w", a.Given, b.Given, ErrDuplicateRegistry)
	case hostOnly && a.Host == b.Host:
		return fmt.Errorf("registries %q and %q have the same host %q: the ECS agent does not choose reliably between "+
			"credentials for one host, so a dockercfg document holds one registry per host (format dockerconfigjson keeps both): %w",
			a.Given, b.Given, a.Host, ErrDuplicateRegistry)
	}
	return nil
}

// checkEmail accepts an email address (optional, "" is fine) that can be
// written in a JSON document and an ecs.config line without escapes.
func checkEmail(email string) error {
	if !utf8.ValidString(email) || strings.ContainsFunc(email, needsEscape) {
		return errors.New("email is not valid UTF-8 or contains whitespace, a quote, a backslash or a control character")
	}
	return nil
}

// needsEscape reports characters that JSON or an env file would escape or
// trim, and the space.
func needsEscape(r rune) bool {
	return r <= ' ' || r == '"' || r == '\\' || r == 0x7f || r == '\u2028' || r == '\u2029'
}
