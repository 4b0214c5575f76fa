package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time, as scripts/image.sh and the Dockerfile do:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123abc" ./cmd/injector
var (
	version string
	commit  string
)

// buildVersion is what `injector version` prints.
type buildVersion struct {
	Version, Commit, Go string
}

func currentVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, commit, bi)
}

// versionOf prefers the values set with -ldflags and falls back to what the
// Go toolchain recorded: the module version (for `go install
// module@version`) and the VCS revision (for a build in a checkout).
func versionOf(ldVersion, ldCommit string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: ldVersion, Commit: ldCommit, Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		if v.Version == "" && bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		if v.Commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			v.Commit = rev
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func (v buildVersion) write(w io.Writer) {
	fmt.Fprintf(w, "version: %s\ncommit:  %s\ngo:      %s\n", v.Version, v.Commit, v.Go)
}
