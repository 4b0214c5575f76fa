package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ecs-secret-injector/injector/internal/dotenv"
)

// The names of the injector's output layout (package writer): the root's
// link to the current generation, a directory of the root whose name begins
// with "..". Each top-level name NAME the injector writes is a link
// NAME -> ..data/NAME.
const (
	dataLink    = "..data"
	layoutNames = ".."
)

// maxAttempts bounds how often the files of a root are read again because
// its generation changed while they were read.
const maxAttempts = 10

// envFile is one --env-file.
type envFile struct {
	arg  string // as given, for messages
	root string // the output root it is in
	rel  string // its path below the generation, slash-separated
	data []byte
}

// load reads the files, each root's from one generation, and parses them,
// in the order given.
func load(args []string) ([]dotenv.Var, error) {
	files := make([]*envFile, len(args))
	var roots []string
	byRoot := make(map[string][]*envFile)
	for i, a := range args {
		f, err := locate(a)
		if err != nil {
			return nil, err
		}
		files[i] = f
		if byRoot[f.root] == nil {
			roots = append(roots, f.root)
		}
		byRoot[f.root] = append(byRoot[f.root], f)
	}
	for _, r := range roots {
		if err := readGeneration(r, byRoot[r], nil); err != nil {
			return nil, err
		}
	}
	var vars []dotenv.Var
	for _, f := range files {
		vs, err := dotenv.Parse(f.data)
		if err != nil {
			return nil, fail(exitSyntax, "%s: %v", f.arg, err)
		}
		vars = append(vars, vs...)
	}
	return vars, nil
}

// locate finds the output root of the file arg names (the nearest
// directory above it that holds a ..data link) and checks that the file's
// top-level name there is the injector's link into ..data.
func locate(arg string) (*envFile, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, fail(exitNoInput, "%s: %v", arg, err)
	}
	root := filepath.Dir(abs)
	for {
		if fi, err := os.Lstat(filepath.Join(root, dataLink)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
				return nil, fail(exitNoInput, "%s: no such file, and no injector output root (a directory with a ..data link) above it: has the injector run?", arg)
			}
			return nil, fail(exitLayout, "%s: not in an injector output root: no directory above it holds a ..data link", arg)
		}
		root = parent
	}
	rel := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(abs, root), "/"))
	top, below, _ := strings.Cut(rel, "/")
	if top == dataLink {
		if below == "" {
			return nil, fail(exitLayout, "%s: names the ..data link itself, not a file", arg)
		}
		return &envFile{arg: arg, root: root, rel: below}, nil
	}
	if strings.HasPrefix(top, layoutNames) {
		return nil, fail(exitLayout, "%s: names beginning with .. in %s are the injector's own; name the file by its link there", arg, root)
	}
	target, err := os.Readlink(filepath.Join(root, top))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fail(exitNoInput, "%s: no such file in the output root %s", arg, root)
	case errors.Is(err, syscall.EINVAL):
		return nil, fail(exitLayout, "%s: %s in the output root %s is not the injector's link into ..data", arg, top, root)
	case err != nil:
		return nil, fail(exitNoInput, "%s: %v", arg, unwrapPath(err))
	case target != dataLink+"/"+top:
		return nil, fail(exitLayout, "%s: the link %s in the output root %s leads elsewhere than ..data/%s: not the injector's", arg, top, root, top)
	}
	return &envFile{arg: arg, root: root, rel: rel}, nil
}

// readGeneration reads files, all in root, from the generation ..data
// points to. If a file is missing because the generation was replaced
// meanwhile, it reads them all again from the new one. resolved, if not
// nil, is called after each resolution of ..data (a test's hook).
func readGeneration(root string, files []*envFile, resolved func()) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return fail(exitNoInput, "%s: opening the output root %s: %v", files[0].arg, root, unwrapPath(err))
	}
	defer r.Close()
	for range maxAttempts {
		gen, err := currentGeneration(r, root, files[0].arg)
		if err != nil {
			return err
		}
		if resolved != nil {
			resolved()
		}
		switched, err := readFrom(r, gen, files)
		if err != nil || !switched {
			return err
		}
	}
	return fail(exitNoInput, "%s: the output root %s changed generation %d times while it was read", files[0].arg, root, maxAttempts)
}

// currentGeneration returns the name ..data points to.
func currentGeneration(r *os.Root, root, arg string) (string, error) {
	gen, err := r.Readlink(dataLink)
	if err != nil {
		return "", fail(exitLayout, "%s: reading %s in the output root %s: %v", arg, dataLink, root, unwrapPath(err))
	}
	if !strings.HasPrefix(gen, layoutNames) || gen == layoutNames || strings.Contains(gen, "/") || gen == dataLink {
		return "", fail(exitLayout, "%s: %s in the output root %s does not point to a generation directory beside it", arg, dataLink, root)
	}
	return gen, nil
}

// readFrom reads files from the generation gen of r. switched says that a
// file was missing and ..data points elsewhere now: the generation was
// replaced meanwhile, and nothing read is to be used.
func readFrom(r *os.Root, gen string, files []*envFile) (switched bool, err error) {
	g, err := r.OpenRoot(gen)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return moved(r, gen, files[0])
		}
		return false, fail(exitNoInput, "%s: opening the generation %s: %v", files[0].arg, gen, unwrapPath(err))
	}
	defer g.Close()
	for _, f := range files {
		data, err := readFile(g, f)
		if errors.Is(err, fs.ErrNotExist) {
			return moved(r, gen, f)
		}
		if err != nil {
			return false, err
		}
		f.data = data
	}
	return false, nil
}

// moved is readFrom's answer when f was missing from gen.
func moved(r *os.Root, gen string, f *envFile) (bool, error) {
	if now, err := r.Readlink(dataLink); err == nil && now != gen {
		return true, nil
	}
	return false, fail(exitNoInput, "%s: not in the current generation of the output root %s", f.arg, f.root)
}

// readFile reads f from the generation g. The injector writes directories
// and regular files there only: a link on the way is refused, and so is
// anything but a regular file (a FIFO could block the start).
func readFile(g *os.Root, f *envFile) ([]byte, error) {
	parts := strings.Split(f.rel, "/")
	for i := range parts {
		fi, err := g.Lstat(strings.Join(parts[:i+1], "/"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			return nil, fail(exitNoInput, "%s: %v", f.arg, unwrapPath(err))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fail(exitLayout, "%s: a symbolic link inside the generation, where the injector writes none", f.arg)
		}
	}
	file, err := g.OpenFile(f.rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fail(exitNoInput, "%s: %v", f.arg, unwrapPath(err))
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fail(exitNoInput, "%s: %v", f.arg, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fail(exitNoInput, "%s: not a regular file", f.arg)
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, fail(exitNoInput, "%s: %v", f.arg, unwrapPath(err))
	}
	return data, nil
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// messages name themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
