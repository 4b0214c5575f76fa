// Command with-env runs a program with the variables of dotenv files the
// injector wrote added to its environment:
//
//	with-env --env-file /secrets/app.env [--env-file FILE]... [--] COMMAND [ARG]...
//
// It is the exec helper the injector places in its output root (docs/exec.md),
// for apps that read their configuration from environment variables only and
// images without a shell. It reads every file from one generation of its
// output root (it resolves the root's ..data link once, so a refresh that
// switches generations meanwhile cannot give it a mix of two), sets the
// variables over the inherited environment (a later file wins over an
// earlier one), and replaces itself with COMMAND by execve: the same
// process, so signals reach the app directly, and no shell. The app gets
// the signal mask the helper was started with; of the signals ignored at
// its start only SIGHUP and SIGINT stay ignored (the Go runtime handles the
// others, and execve resets handled signals to their default). A COMMAND
// without a slash is looked up in the PATH of the new environment, as
// os/exec.LookPath does.
//
// It reads exactly the syntax the injector's dotenv format writes
// (internal/dotenv) and refuses anything else. Its messages name files and
// line numbers only, never a name or value read from a file.
//
// Exit codes (before the exec; afterwards the code is the app's):
//
//	64  usage: bad or missing arguments
//	65  a line of an env file is not in the injector's dotenv syntax
//	66  an env file cannot be read (missing, not a regular file, no permission)
//	67  an env file is not in an injector output root, or the layout there is
//	    not the injector's (a link that leads elsewhere, a link inside a
//	    generation)
//	126 the command was found but cannot be executed
//	127 the command was not found
//
// 64 to 67 are the sysexits.h codes of those meanings; 126 and 127 are what
// POSIX shells exit with when a command cannot be run. None collides with a
// code a shell gives a signal (128+n).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/ecs-secret-injector/injector/internal/dotenv"
)

// Exit codes; see the package documentation.
const (
	exitUsage      = 64
	exitSyntax     = 65
	exitNoInput    = 66
	exitLayout     = 67
	exitCannotExec = 126
	exitNotFound   = 127
)

// failure is an error with the exit code it gives.
type failure struct {
	code int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code int, format string, args ...any) error {
	return &failure{code: code, msg: fmt.Sprintf(format, args...)}
}

const usage = `usage: with-env --env-file FILE [--env-file FILE]... [--] COMMAND [ARG]...

Runs COMMAND (looked up in PATH if it has no slash) in place of with-env,
with the variables of each FILE, a dotenv file the injector wrote, added to
the environment. All files of one output root are read from one generation.
Exit codes: 64 usage, 65 a line not in the injector's dotenv syntax, 66 a
file cannot be read, 67 not the injector's output layout, 126 the command
cannot be executed, 127 the command is not found.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns only when the command cannot be started (or for --help).
func run(args []string, stdout, stderr io.Writer) int {
	files, argv, help, err := parseArgs(args)
	if help {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err == nil {
		err = start(files, argv)
	}
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{code: exitCannotExec, msg: err.Error()}
	}
	fmt.Fprintf(stderr, "with-env: %s\n", f.msg)
	if f.code == exitUsage {
		fmt.Fprint(stderr, "Run 'with-env --help' for usage.\n")
	}
	return f.code
}

// parseArgs splits the arguments into env files and the command line.
func parseArgs(args []string) (files, argv []string, help bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			argv = args[i+1:]
		case a == "-h" || a == "--help":
			return nil, nil, true, nil
		case a == "--env-file":
			if i+1 == len(args) {
				return nil, nil, false, fail(exitUsage, "--env-file needs a file name")
			}
			i++
			files = append(files, args[i])
			continue
		case strings.HasPrefix(a, "--env-file="):
			files = append(files, strings.TrimPrefix(a, "--env-file="))
			continue
		case strings.HasPrefix(a, "-") && a != "-":
			return nil, nil, false, fail(exitUsage, "unknown option %q", a)
		default:
			argv = args[i:]
		}
		break
	}
	switch {
	case len(files) == 0:
		return nil, nil, false, fail(exitUsage, "no --env-file given")
	case len(argv) == 0:
		return nil, nil, false, fail(exitUsage, "no command given")
	}
	for _, f := range files {
		if f == "" {
			return nil, nil, false, fail(exitUsage, "--env-file with an empty file name")
		}
	}
	return files, argv, false, nil
}

// start reads the files and replaces the process with the command; it
// returns only on failure.
func start(files, argv []string) error {
	vars, err := load(files)
	if err != nil {
		return err
	}
	env := overlay(os.Environ(), vars)
	path, err := lookPath(argv[0], env)
	if err != nil {
		return err
	}
	return execError(argv[0], syscall.Exec(path, argv, env))
}

// overlay returns environ with vars set: an inherited variable of the same
// name is dropped, and a later var of one name wins over an earlier one.
func overlay(environ []string, vars []dotenv.Var) []string {
	last := make(map[string]int, len(vars))
	for i, v := range vars {
		last[v.Name] = i
	}
	env := make([]string, 0, len(environ)+len(last))
	for _, e := range environ {
		name, _, _ := strings.Cut(e, "=")
		if _, set := last[name]; !set {
			env = append(env, e)
		}
	}
	for i, v := range vars {
		if last[v.Name] == i {
			env = append(env, v.Name+"="+v.Value)
		}
	}
	return env
}

// lookPath finds name as the new environment's PATH says, with
// os/exec.LookPath's rules: a name with a slash is used as it is; otherwise
// the first executable regular file of that name in a PATH directory, and
// none that PATH finds only relative to the current directory.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path, set := "", false
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path, set = v, true
		}
	}
	// exec.LookPath reads PATH from the process environment, which the
	// exec replaces anyway.
	var err error
	if set {
		err = os.Setenv("PATH", path)
	} else {
		err = os.Unsetenv("PATH")
	}
	if err != nil {
		return "", fail(exitCannotExec, "%s: setting PATH for the lookup: %v", name, err)
	}
	found, err := exec.LookPath(name)
	switch {
	case err == nil:
		return found, nil
	case errors.Is(err, exec.ErrDot):
		return "", fail(exitNotFound, "%s: found only relative to the current directory (%s), which is refused; give a path with a slash", name, found)
	case errors.Is(err, exec.ErrNotFound):
		return "", fail(exitNotFound, "%s: command not found in PATH", name)
	default:
		return "", fail(exitNotFound, "%s: %v", name, unwrapPath(err))
	}
}

// execError describes why execve of name failed.
func execError(name string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fail(exitCannotExec, "%s: %v", name, err)
	}
	switch errno {
	case syscall.ENOENT:
		return fail(exitNotFound, "%s: no such file or directory (or the program's interpreter or dynamic loader is missing)", name)
	case syscall.E2BIG:
		return fail(exitCannotExec, "%s: cannot be executed: the environment and arguments are larger than execve accepts", name)
	case syscall.ENOEXEC:
		return fail(exitCannotExec, "%s: cannot be executed: not a program for this platform (exec format error)", name)
	default:
		return fail(exitCannotExec, "%s: cannot be executed: %v", name, errno)
	}
}
