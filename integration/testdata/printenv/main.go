// Command printenv is the static test app the exec helper starts in the
// integration tests: no shell, no libc. It writes its environment to
// stdout, each NAME=value entry followed by a NUL byte. With the argument
// -wait it then closes stdout and runs until SIGTERM, like a server (the
// restart-on-change tests).
package main

import (
	"bufio"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	wait := len(os.Args) > 1 && os.Args[1] == "-wait"
	var term chan os.Signal
	if wait {
		term = make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, e := range os.Environ() {
		w.WriteString(e)
		w.WriteByte(0)
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
	if wait {
		os.Stdout.Close()
		<-term
	}
}
