package formats

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		given, key, id, host string
	}{
		{"ghcr.io", "ghcr.io", "ghcr.io", "ghcr.io"},
		{"ghcr.io/org/", "ghcr.io/org/", "ghcr.io/org", "ghcr.io"},
		{"https://quay.io", "https://quay.io", "quay.io", "quay.io"},
		{"localhost:5000/team", "localhost:5000/team", "localhost:5000/team", "localhost:5000"},
		{"docker.io", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"docker.io/", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"index.docker.io", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"registry-1.docker.io", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"https://index.docker.io/v1/", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"https://index.docker.io/v2/", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"http://docker.io/v1", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
		{"DOCKER.IO", dockerHubKey, "index.docker.io/v1", "index.docker.io"},
	}
	for _, tt := range tests {
		n, err := parseRegistry(tt.given)
		if err != nil {
			t.Errorf("parseRegistry(%q): %v", tt.given, err)
			continue
		}
		if n.Given != tt.given || n.Key != tt.key || n.ID != tt.id || n.Host != tt.host {
			t.Errorf("parseRegistry(%q) = %+v", tt.given, n)
		}
	}
	for given, why := range map[string]string{
		"":                         "empty",
		"a b":                      "whitespace",
		"tab\there":                "control",
		`q"uote`:                   "quote",
		`back\slash`:               "backslash",
		"\xff":                     "UTF-8",
		"ftp://ghcr.io":            "schemes",
		"https://":                 "no host",
		"/org":                     "no host",
		"docker.io/myorg":          "Docker Hub",
		"index.docker.io/library":  "Docker Hub",
		"https://docker.io/v1/org": "Docker Hub",
	} {
		_, err := parseRegistry(given)
		if !errors.Is(err, errInvalidRegistry) || !strings.Contains(err.Error(), why) {
			t.Errorf("parseRegistry(%q) err = %v, want errInvalidRegistry saying %q", given, err, why)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		given    []string
		hostOnly bool
		mention  []string // empty: no error
	}{
		{"distinct", []string{"ghcr.io", "quay.io", "docker.io"}, true, nil},
		{"same twice", []string{"ghcr.io", "ghcr.io"}, false, []string{`"ghcr.io" appears twice`}},
		{"scheme and slash", []string{"ghcr.io", "https://ghcr.io/"}, false, []string{`"ghcr.io" and "https://ghcr.io/" name the same registry`}},
		{"two Docker Hub spellings", []string{"docker.io", "https://index.docker.io/v2/"}, false, []string{`"docker.io" and "https://index.docker.io/v2/" both name Docker Hub`}},
		{"paths kept", []string{"ghcr.io/org-a", "ghcr.io/org-b", "ghcr.io"}, false, nil},
		{"same host, host only", []string{"ghcr.io/org-a", "ghcr.io/org-b"}, true, []string{`"ghcr.io/org-a" and "ghcr.io/org-b" have the same host "ghcr.io"`}},
		{"host and path, host only", []string{"ghcr.io", "ghcr.io/org"}, true, []string{`"ghcr.io" and "ghcr.io/org"`}},
		{"ports are hosts", []string{"r.example:5000", "r.example:5001"}, true, nil},
		{"every problem", []string{"a b", "docker.io/x"}, false, []string{`"a b"`, `"docker.io/x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := checkRegistries(tt.given, tt.hostOnly)
			if len(tt.mention) == 0 {
				if err != nil || len(names) != len(tt.given) {
					t.Fatalf("Check = %v, %v", names, err)
				}
				for i, n := range names {
					if n.Given != tt.given[i] {
						t.Errorf("name %d is %q, want %q", i, n.Given, tt.given[i])
					}
				}
				return
			}
			if err == nil || names != nil {
				t.Fatalf("Check = %v, %v; want an error", names, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"", "ops@example.com", "ünï@例え.jp"} {
		if err := checkEmail(ok); err != nil {
			t.Errorf("checkEmail(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"a b@c", `a"b`, `a\b`, "a\nb", "\xff", "a\u2028b"} {
		if err := checkEmail(bad); err == nil {
			t.Errorf("checkEmail(%q) accepted", bad)
		}
	}
}
