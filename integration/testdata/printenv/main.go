// Command printenv is the static test app the exec helper starts in the
// integration tests: no shell, no libc. It writes its environment to
// stdout, each NAME=value entry followed by a NUL byte.
package main

import (
	"bufio"
	"os"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	for _, e := range os.Environ() {
		w.WriteString(e)
		w.WriteByte(0)
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
}
