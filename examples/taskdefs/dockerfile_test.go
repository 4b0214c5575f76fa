package taskdefs_test

// The repository's Dockerfile keeps its basic properties. It lives here,
// beside the task definitions that run the image it builds.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

type instruction struct {
	cmd  string // upper-cased keyword
	args string
}

type stage struct {
	from  string // image reference
	name  string // "AS" name, if any
	instr []instruction
}

// parseDockerfile splits a Dockerfile into stages. It handles comments and
// backslash continuations, which is all this repository's Dockerfile uses.
func parseDockerfile(src string) ([]stage, error) {
	var logical []string
	var cur strings.Builder
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(rest)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, errors.New("dangling line continuation at end of file")
	}

	var stages []stage
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		if cmd == "FROM" {
			var s stage
			fields := strings.Fields(args)
			for i := 0; i < len(fields); i++ {
				switch {
				case strings.HasPrefix(fields[i], "--"):
				case strings.EqualFold(fields[i], "AS") && i+1 < len(fields):
					s.name = fields[i+1]
					i++
				case s.from == "":
					s.from = fields[i]
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if cmd == "ARG" {
				continue // global build arguments may precede FROM
			}
			return nil, fmt.Errorf("%s before the first FROM", cmd)
		}
		last := &stages[len(stages)-1]
		last.instr = append(last.instr, instruction{cmd: cmd, args: args})
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

func (s stage) find(cmd string) []string {
	var out []string
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

var numericUser = regexp.MustCompile(`^([0-9]+)(?::([0-9]+))?$`)

type dockerfileCheck struct {
	name  string
	check func(stages []stage) error
}

// dockerfileChecks are the properties the Dockerfile must keep.
func dockerfileChecks() []dockerfileCheck {
	return []dockerfileCheck{
		{"multi-stage with a golang:1.26 build stage", func(st []stage) error {
			if len(st) < 2 {
				return fmt.Errorf("%d FROM lines, want a multi-stage build", len(st))
			}
			if st[0].from != "golang:1.26" || st[0].name == "" {
				return fmt.Errorf("first stage FROM %q AS %q, want a named golang:1.26 stage", st[0].from, st[0].name)
			}
			return nil
		}},
		{"build stage disables cgo", func(st []stage) error {
			for _, s := range st[:len(st)-1] {
				for _, in := range s.instr {
					if (in.cmd == "ENV" || in.cmd == "RUN" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
						return nil
					}
				}
			}
			return errors.New("no CGO_ENABLED=0 in a build stage")
		}},
		{"go build -trimpath -ldflags=\"-s -w\" ./cmd/injector", func(st []stage) error {
			for _, s := range st[:len(st)-1] {
				for _, run := range s.find("RUN") {
					if strings.Contains(run, "go build") && strings.Contains(run, "-trimpath") &&
						(strings.Contains(run, `-ldflags="-s -w"`) || strings.Contains(run, `-ldflags='-s -w'`)) &&
						strings.Contains(run, "./cmd/injector") {
						return nil
					}
				}
			}
			return errors.New(`no RUN go build -trimpath -ldflags="-s -w" ... ./cmd/injector in a build stage`)
		}},
		{"final stage is distroless static or scratch", func(st []stage) error {
			final := st[len(st)-1]
			switch {
			case strings.HasPrefix(final.from, "gcr.io/distroless/static"):
				return nil
			case final.from == "scratch":
				copies := strings.Join(final.find("COPY"), "\n")
				if !strings.Contains(copies, "ca-certificates") || !strings.Contains(copies, "/etc/passwd") {
					return errors.New("scratch image must COPY CA certificates and /etc/passwd")
				}
				return nil
			default:
				return fmt.Errorf("final stage FROM %q", final.from)
			}
		}},
		{"final stage has no shell steps", func(st []stage) error {
			if runs := st[len(st)-1].find("RUN"); len(runs) > 0 {
				return fmt.Errorf("RUN in the final stage (no shell there): %q", runs[0])
			}
			return nil
		}},
		{"final stage runs as a numeric non-root user", func(st []stage) error {
			users := st[len(st)-1].find("USER")
			if len(users) == 0 {
				return errors.New("no USER in the final stage")
			}
			last := users[len(users)-1]
			m := numericUser.FindStringSubmatch(last)
			if m == nil {
				return fmt.Errorf("USER %q is not numeric uid[:gid]", last)
			}
			if m[1] == "0" {
				return fmt.Errorf("USER %q is root", last)
			}
			return nil
		}},
		{"exec-form ENTRYPOINT", func(st []stage) error {
			eps := st[len(st)-1].find("ENTRYPOINT")
			if len(eps) == 0 {
				return errors.New("no ENTRYPOINT in the final stage")
			}
			var argv []string
			if err := json.Unmarshal([]byte(eps[len(eps)-1]), &argv); err != nil || len(argv) == 0 {
				return fmt.Errorf("ENTRYPOINT %q is not exec form", eps[len(eps)-1])
			}
			return nil
		}},
	}
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, tc := range dockerfileChecks() {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(stages); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("dockerignore keeps .git out of the context", func(t *testing.T) {
		ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
		if err != nil {
			t.Fatalf("read .dockerignore: %v", err)
		}
		if !slices.Contains(strings.Fields(string(ignore)), ".git") {
			t.Error(".dockerignore does not list .git")
		}
	})
}

func TestDockerfileChecksRejectBadDockerfiles(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantFails []string // names of dockerfileChecks that must fail
	}{
		{
			name: "single stage as root with cgo",
			src: "FROM golang:1.26\nRUN go build -o /injector ./cmd/injector\n" +
				"USER root\nENTRYPOINT /injector\n",
			wantFails: []string{
				"multi-stage with a golang:1.26 build stage",
				"final stage is distroless static or scratch",
				"final stage runs as a numeric non-root user",
				"exec-form ENTRYPOINT",
			},
		},
		{
			name: "scratch without certificates, uid 0",
			src: "FROM golang:1.26 AS build\nENV CGO_ENABLED=0\n" +
				"RUN go build -trimpath \\\n  -ldflags=\"-s -w\" ./cmd/injector\n" +
				"FROM scratch\nCOPY --from=build /go/bin/injector /injector\nUSER 0:0\nENTRYPOINT [\"/injector\"]\n",
			wantFails: []string{
				"final stage is distroless static or scratch",
				"final stage runs as a numeric non-root user",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stages, err := parseDockerfile(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, c := range dockerfileChecks() {
				if err := c.check(stages); err != nil {
					failed = append(failed, c.name)
				}
			}
			for _, want := range tc.wantFails {
				if !slices.Contains(failed, want) {
					t.Errorf("check %q passed, want it to fail (failed: %v)", want, failed)
				}
			}
		})
	}
}
