// Command app stands in for the application container of a task in the
// image tests: a static binary in an image of its own that reads what the
// injector wrote into the shared volume.
//
//	app cat FILE     print FILE's bytes
//	app write FILE   try to create FILE (exit 1 when it cannot)
//	app id           print the uid and gid it runs as
//	app wait         sleep until SIGTERM, then exit 0
//	app true         exit 0 (a trivial container's start-to-exit time)
//	app env NAME...  print each variable's value (or "<unset>"), each
//	                 followed by a NUL byte
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app cat|write FILE, app id|wait|true, app env NAME...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "cat":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_, _ = os.Stdout.Write(data)
	case "write":
		if err := os.WriteFile(os.Args[2], []byte("app"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "id":
		fmt.Printf("%d:%d\n", os.Getuid(), os.Getgid())
	case "wait":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
	case "true":
	case "env":
		for _, name := range os.Args[2:] {
			v, ok := os.LookupEnv(name)
			if !ok {
				v = "<unset>"
			}
			fmt.Printf("%s\x00", v)
		}
	default:
		fmt.Fprintln(os.Stderr, "app: unknown command", os.Args[1])
		os.Exit(2)
	}
}
