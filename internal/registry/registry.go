// Package registry names container registries the way the clients that read
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
package registry

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DockerHubKey is the key `docker login` writes for Docker Hub and the only
// Docker Hub key that the ECS agent, the docker CLI and go-containerregistry
// look up.
const DockerHubKey = "https://index.docker.io/v1/"

var (
	// ErrInvalidName reports a registry name that cannot be written as a key
	// that clients look up.
	ErrInvalidName = errors.New("invalid registry name")
	// ErrConflict reports two names in one document that clients cannot
	// tell apart.
	ErrConflict = errors.New("conflicting registries")
)

// Name is a registry name as given, checked and split up.
type Name struct {
	Given string // as written in the spec
	Key   string // the key written in the document
	// ID tells registries apart: the key without scheme and trailing '/'.
	ID string
	// Host is host[:port], the part before the first '/' of ID.
	Host string
}

// Parse checks one registry name. Docker Hub spellings (docker.io,
// index.docker.io, registry-1.docker.io, with or without scheme, with or
// without a /v1/ or /v2/ API path) become DockerHubKey; Docker Hub with any
// other path is refused, as no client would read that key. Other names are
// written as given.
func Parse(given string) (Name, error) {
	fail := func(why string) (Name, error) {
		return Name{}, fmt.Errorf("registry %q: %s: %w", given, why, ErrInvalidName)
	}
	switch {
	case given == "":
		return Name{}, fmt.Errorf("registry name is empty: %w", ErrInvalidName)
	case !utf8.ValidString(given):
		return Name{}, fmt.Errorf("registry name is not valid UTF-8: %w", ErrInvalidName)
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
			return Name{Given: given, Key: DockerHubKey, ID: "index.docker.io/v1", Host: "index.docker.io"}, nil
		}
		return fail("Docker Hub credentials cannot be limited to a path: every docker client and the ECS agent " +
			"look up Docker Hub as " + DockerHubKey + " only, so give docker.io")
	}
	return Name{Given: given, Key: given, ID: strings.TrimSuffix(rest, "/"), Host: host}, nil
}

func isDockerHub(host string) bool {
	switch strings.ToLower(host) {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// Check parses the registry names of one document. Two names that clients
// read as the same registry (after Docker Hub spellings, scheme and a
// trailing '/' are folded) are an error; with hostOnly (the documents the
// ECS agent reads: dockercfg, ecs-config) so are two names with the same
// host. Errors name both registries. The names are returned in the order
// given.
func Check(given []string, hostOnly bool) ([]Name, error) {
	names := make([]Name, 0, len(given))
	var errs []error
	for _, g := range given {
		n, err := Parse(g)
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

func conflict(a, b Name, hostOnly bool) error {
	switch {
	case a.Given == b.Given:
		return fmt.Errorf("registry %q appears twice: %w", a.Given, ErrConflict)
	case a.Key == DockerHubKey && b.Key == DockerHubKey:
		return fmt.Errorf("registries %q and %q both name Docker Hub (%s): %w", a.Given, b.Given, DockerHubKey, ErrConflict)
	case a.ID == b.ID:
		return fmt.Errorf("registries %q and %q name the same registry: %w", a.Given, b.Given, ErrConflict)
	case hostOnly && a.Host == b.Host:
		return fmt.Errorf("registries %q and %q have the same host %q: the ECS agent does not choose reliably between "+
			"credentials for one host, so a dockercfg document holds one registry per host (format dockerconfigjson keeps both): %w",
			a.Given, b.Given, a.Host, ErrConflict)
	}
	return nil
}

// CheckEmail accepts an email address (optional, "" is fine) that can be
// written in a JSON document and an ecs.config line without escapes.
func CheckEmail(email string) error {
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
