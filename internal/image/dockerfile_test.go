package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Dockerfile must build the image scripts/image.sh builds: these tests
// read it and compare it with this package's description of the image.

type instruction struct {
	cmd   string   // upper-cased keyword
	flags []string // leading --flags, such as --from=build
	args  string   // the rest
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
		cmd, rest, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd)}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			in.flags = append(in.flags, flag)
			rest = strings.TrimSpace(after)
		}
		in.args = rest
		if in.cmd == "FROM" {
			var s stage
			fields := strings.Fields(in.args)
			s.from = fields[0]
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				continue // global build arguments may precede FROM
			}
			return nil, fmt.Errorf("%s before the first FROM", in.cmd)
		}
		last := &stages[len(stages)-1]
		last.instr = append(last.instr, in)
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// flag returns the value of --name=value among in's flags.
func (in instruction) flag(name string) string {
	for _, f := range in.flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// shellWords splits a shell command line into words, with quotes removed
// and $NAME / ${NAME} replaced from vars (left as is when unknown). It
// knows what the Dockerfile's RUN lines use, no more.
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'' && c != '\'':
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			switch quote {
			case 0:
				quote = c
			case c:
				quote = 0
			default:
				cur.WriteByte(c)
			}
			inWord = true
		case c == '$':
			name, n := varName(s[i+1:])
			if v, ok := vars[name]; ok && n > 0 {
				cur.WriteString(v)
				i += n
			} else {
				cur.WriteByte(c)
			}
			inWord = true
		case quote == 0 && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// varName reads NAME or {NAME} at the start of s and returns the name and
// how many bytes it took.
func varName(s string) (string, int) {
	if rest, ok := strings.CutPrefix(s, "{"); ok {
		name, _, found := strings.Cut(rest, "}")
		if !found {
			return "", 0
		}
		return name, len(name) + 2
	}
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return s[:n], n
}

// keyValues parses ENV and LABEL arguments: key=value pairs, values
// optionally double-quoted, with ${NAME} from vars.
func keyValues(args string, vars map[string]string) (map[string]string, error) {
	words, err := shellWords(args, vars)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", w)
		}
		out[k] = v
	}
	return out, nil
}

func jsonList(args string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(args), &l); err != nil {
		return nil, fmt.Errorf("%s is not exec (JSON) form: %w", args, err)
	}
	return l, nil
}

// Sample build arguments the checks substitute.
const (
	sampleVersion = "v9.8.7-test"
	sampleCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// dockerImage is what the checks learn from a Dockerfile.
type dockerImage struct {
	rootfs string            // where the build stage lays out the root filesystem
	copies map[string]string // final-stage COPY source -> --chown
}

// checkDockerfile compares a Dockerfile with the image this package builds.
func checkDockerfile(src, goVersion string) (dockerImage, error) {
	var img dockerImage
	stages, err := parseDockerfile(src)
	if err != nil {
		return img, err
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(stages) != 2 {
		return img, fmt.Errorf("%d stages, want a build stage and the final image", len(stages))
	}
	build, final := stages[0], stages[1]
	vars := map[string]string{"VERSION": sampleVersion, "COMMIT": sampleCommit, "TARGETOS": "linux", "TARGETARCH": "amd64"}

	// Build stage: the toolchain go.mod names, the environment and flags
	// BuildBinary uses.
	if want := "golang:" + goVersion; build.from != want || build.name == "" {
		fail("build stage FROM %s AS %q, want a named %s stage (go.mod's go version)", build.from, build.name, want)
	}
	env := map[string]string{}
	for _, in := range build.find("ENV") {
		kv, err := keyValues(in.args, vars)
		if err != nil {
			fail("ENV: %v", err)
		}
		maps.Copy(env, kv)
	}
	for _, kv := range GoBuildEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if env[k] != v {
			fail("build stage: ENV %s=%q, want %q", k, env[k], v)
		}
	}
	args := declaredArgs(build)
	for _, a := range []string{"VERSION", "COMMIT", "TARGETOS", "TARGETARCH"} {
		if !args[a] {
			fail("build stage does not declare ARG %s", a)
		}
	}
	// One go build for each program, with its flags, into the root part.
	programs := map[string]struct {
		flags []string
		path  string
	}{
		Package:       {GoBuildFlags(sampleVersion, sampleCommit), Binary},
		HelperPackage: {HelperBuildFlags(), Helper},
	}
	built := map[string]bool{}
	var gotRootFS bool
	for _, run := range build.find("RUN") {
		words, err := shellWords(run.args, vars)
		if err != nil {
			fail("RUN: %v", err)
			continue
		}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			words = words[1:] // GOOS=... GOARCH=...
		}
		switch {
		case len(words) > 2 && words[0] == "go" && words[1] == "build":
			flags, out, pkg, err := splitGoBuild(words[2:])
			if err != nil {
				fail("RUN go build: %v", err)
				continue
			}
			prog, ok := programs[pkg]
			if !ok {
				fail("RUN go build %s, want %s or %s", pkg, Package, HelperPackage)
				continue
			}
			if built[pkg] {
				fail("RUN go build %s twice", pkg)
			}
			built[pkg] = true
			if !slices.Equal(flags, prog.flags) {
				fail("RUN go build %s flags %q, want %q", pkg, flags, prog.flags)
			}
			rootfs, ok := strings.CutSuffix(out, "/"+RootFSParts()[0].Dir+prog.path)
			if !ok {
				fail("RUN go build %s -o %s, want ROOTFS/%s%s", pkg, out, RootFSParts()[0].Dir, prog.path)
			} else if img.rootfs != "" && rootfs != img.rootfs {
				fail("RUN go build %s -o %s, not into the root filesystem %s", pkg, out, img.rootfs)
			}
			if img.rootfs == "" {
				img.rootfs = rootfs
			}
		case len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./internal/tools/imagebuild":
			gotRootFS = true
			if len(words) != 5 || words[3] != "-rootfs" {
				fail("RUN %s: want go run ./internal/tools/imagebuild -rootfs DIR", run.args)
			} else if img.rootfs != "" && words[4] != img.rootfs {
				fail("imagebuild -rootfs %s, but the binary goes to %s", words[4], img.rootfs)
			}
		}
	}
	for pkg := range programs {
		if !built[pkg] {
			fail("no RUN go build %s in the build stage", pkg)
		}
	}
	if !gotRootFS {
		fail("no RUN go run ./internal/tools/imagebuild -rootfs in the build stage")
	}

	// Final stage: nothing but the root filesystem and the configuration.
	if final.from != "scratch" {
		fail("final stage FROM %s, want scratch", final.from)
	}
	img.copies = map[string]string{}
	for _, in := range final.instr {
		switch in.cmd {
		case "ARG", "COPY", "ENV", "LABEL", "VOLUME", "USER", "ENTRYPOINT":
		default:
			fail("final stage has %s; it holds only files and configuration", in.cmd)
		}
	}
	for _, in := range final.find("COPY") {
		fields := strings.Fields(in.args)
		if in.flag("from") != build.name || len(fields) != 2 || fields[1] != "/" {
			fail("COPY %v %s: want COPY --from=%s --chown=UID:GID ROOTFS/PART/ /", in.flags, in.args, build.name)
			continue
		}
		img.copies[fields[0]] = in.flag("chown")
	}
	for _, p := range RootFSParts() {
		src := img.rootfs + "/" + p.Dir + "/"
		if got, want := img.copies[src], fmt.Sprintf("%d:%d", p.UID, p.GID); got != want {
			fail("COPY of %s: --chown=%q, want %q", src, got, want)
		}
	}
	if len(img.copies) != len(RootFSParts()) {
		fail("final stage copies %v, want one COPY for each part of the root filesystem", slices.Sorted(maps.Keys(img.copies)))
	}
	args = declaredArgs(final)
	fenv, labels := map[string]string{}, map[string]string{}
	for _, in := range final.find("ENV") {
		kv, err := keyValues(in.args, nil)
		if err != nil {
			fail("ENV: %v", err)
		}
		maps.Copy(fenv, kv)
	}
	for _, in := range final.find("LABEL") {
		for _, a := range []string{"VERSION", "COMMIT"} {
			if strings.Contains(in.args, a) && !args[a] {
				fail("LABEL uses %s, which the final stage does not declare with ARG", a)
			}
		}
		kv, err := keyValues(in.args, vars)
		if err != nil {
			fail("LABEL: %v", err)
		}
		maps.Copy(labels, kv)
	}
	wantEnv := map[string]string{}
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		wantEnv[k] = v
	}
	if !maps.Equal(fenv, wantEnv) {
		fail("ENV %v, want %v", fenv, wantEnv)
	}
	if want := Labels(sampleVersion, sampleCommit); !maps.Equal(labels, want) {
		fail("LABEL %v, want %v", labels, want)
	}
	checkList := func(cmd string, want []string) {
		ins := final.find(cmd)
		if len(ins) != 1 {
			fail("%d %s instructions in the final stage, want 1", len(ins), cmd)
			return
		}
		got, err := jsonList(ins[0].args)
		if err != nil {
			fail("%s: %v", cmd, err)
		} else if !slices.Equal(got, want) {
			fail("%s %q, want %q", cmd, got, want)
		}
	}
	checkList("VOLUME", Volumes())
	checkList("ENTRYPOINT", Entrypoint())
	if users := final.find("USER"); len(users) != 1 || users[0].args != User() {
		fail("USER %v, want exactly one USER %s", users, User())
	}
	return img, errors.Join(errs...)
}

func declaredArgs(s stage) map[string]bool {
	out := map[string]bool{}
	for _, in := range s.find("ARG") {
		name, _, _ := strings.Cut(in.args, "=")
		out[name] = true
	}
	return out
}

// splitGoBuild splits the words after `go build` into flags, the -o
// output and the package.
func splitGoBuild(words []string) (flags []string, out, pkg string, err error) {
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-o" && i+1 < len(words):
			out = words[i+1]
			i++
		case strings.HasPrefix(w, "-"):
			flags = append(flags, w)
		case pkg == "":
			pkg = w
		default:
			return nil, "", "", fmt.Errorf("more than one package: %s %s", pkg, w)
		}
	}
	if out == "" || pkg == "" {
		return nil, "", "", errors.New("want -o OUTPUT and one package")
	}
	return flags, out, pkg, nil
}

func readDockerfile(t *testing.T) (string, string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion, err := GoVersion(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return string(src), goVersion
}

func TestDockerfileMatchesImage(t *testing.T) {
	src, goVersion := readDockerfile(t)
	df, err := checkDockerfile(src, goVersion)
	if err != nil {
		t.Fatalf("the Dockerfile and internal/image disagree:\n%v", err)
	}

	// The files the Dockerfile puts in the image: what WriteRootFS lays out
	// in each part, owned as that part's COPY --chown says. They must be
	// the files, owners, modes and contents of the image's layers.
	dir := t.TempDir()
	for _, bin := range []string{Binary, Helper} {
		binPath := filepath.Join(dir, "root", filepath.FromSlash(bin[1:]))
		if err := os.MkdirAll(filepath.Dir(binPath), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(binPath, []byte("binary "+bin), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteRootFS(dir); err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, p := range RootFSParts() {
		var uid, gid int
		chown := df.copies[df.rootfs+"/"+p.Dir+"/"]
		if _, err := fmt.Sscanf(chown, "%d:%d", &uid, &gid); err != nil {
			t.Fatalf("COPY --chown=%q: %v", chown, err)
		}
		root := filepath.Join(dir, p.Dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			e := Entry{Path: filepath.ToSlash(rel), Mode: fi.Mode(), UID: uid, GID: gid}
			if !d.IsDir() {
				if e.Data, err = os.ReadFile(p); err != nil {
					return err
				}
			}
			got[e.Path] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	spec := testSpec(time.Unix(0, 0), map[string][]byte{"linux/amd64": []byte("binary " + Binary), "linux/arm64": []byte("binary " + Binary)})
	spec.Helpers = map[string][]byte{"linux/amd64": []byte("binary " + Helper), "linux/arm64": []byte("binary " + Helper)}
	idx, err := Index(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{}
	for _, e := range imageEntries(t, idx, "linux/amd64") {
		want[e.Path] = e
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		w, g := want[p], got[p]
		switch {
		case g.Path == "":
			t.Errorf("%s: in the image, not in the Dockerfile's", p)
		case g.Mode != w.Mode || g.UID != w.UID || g.GID != w.GID:
			t.Errorf("%s: Dockerfile gives %v %d:%d, image has %v %d:%d", p, g.Mode, g.UID, g.GID, w.Mode, w.UID, w.GID)
		case string(g.Data) != string(w.Data):
			t.Errorf("%s: content differs", p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the Dockerfile's image only", p)
		}
	}
}

func TestDockerfileChecksRejectDrift(t *testing.T) {
	src, goVersion := readDockerfile(t)
	tests := []struct {
		name, old, new, wantErr string
	}{
		{"other toolchain", "golang:" + goVersion, "golang:1.26", "go.mod's go version"},
		{"cgo", "ENV CGO_ENABLED=0", "ENV CGO_ENABLED=1", "CGO_ENABLED"},
		{"no trimpath", "-trimpath ", "", "flags"},
		{"symbols kept", `-ldflags="-s -w `, `-ldflags="`, "flags"},
		{"no version", "-X main.version=${VERSION} ", "", "flags"},
		{"binary elsewhere", "-o /rootfs/root/injector", "-o /usr/local/bin/injector", "-o"},
		{"volume not chowned", "--chown=65532:65532", "--chown=0:0", "--chown"},
		{"distroless base", "FROM scratch", "FROM gcr.io/distroless/static-debian12:nonroot", "scratch"},
		{"root user", "USER 65532:65532", "USER 0:0", "USER"},
		{"shell entrypoint", `ENTRYPOINT ["/injector"]`, "ENTRYPOINT /injector", "exec (JSON) form"},
		{"other volume", `VOLUME ["/secrets"]`, `VOLUME ["/run/secrets"]`, "VOLUME"},
		{"label missing", `org.opencontainers.image.revision="${COMMIT}"`, `org.opencontainers.image.created="0"`, "LABEL"},
		{"RUN in the final stage", "USER 65532:65532", "RUN chmod 0777 /secrets\nUSER 65532:65532", "final stage has RUN"},
		{"no helper", "./cmd/with-env", "./cmd/injector", "twice"},
		{"helper elsewhere", "-o /rootfs/root/with-env", "-o /rootfs/with-env", "-o"},
		{"helper with symbols", `-ldflags="-s -w -buildid=" -o /rootfs/root/with-env`, `-ldflags="-buildid=" -o /rootfs/root/with-env`, "flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(src, tt.old) {
				t.Fatalf("the Dockerfile has no %q to change", tt.old)
			}
			_, err := checkDockerfile(strings.Replace(src, tt.old, tt.new, 1), goVersion)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestShellWords(t *testing.T) {
	got, err := shellWords(`A=$X go build -ldflags="-s -X m.v=${V}" 'a $X' $UNSET`, map[string]string{"X": "x", "V": "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=x", "go", "build", "-ldflags=-s -X m.v=1.0", "a $X", "$UNSET"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := shellWords(`"open`, nil); err == nil {
		t.Fatal("unterminated quote accepted")
	}
}
