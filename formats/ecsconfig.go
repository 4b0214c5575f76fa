package formats

import (
	"bytes"
	"fmt"
)

// ECSConfig merges registry credentials into the ECS agent's ecs.config.
const ECSConfig Name = "ecs-config"

func init() { add(ECSConfig, ecsConfig{}) }

type ecsConfig struct{ login }

func (ecsConfig) Doc() string {
	return "ECS_ENGINE_AUTH_TYPE/ECS_ENGINE_AUTH_DATA merged into ecs.config"
}

// Layout is in place: the ECS agent reads ecs.config at a fixed path.
func (ecsConfig) Layout() Layout { return InPlace }

func (ecsConfig) CheckLogins(registries []string) error { return hostOnly(registries) }

func (ecsConfig) Note(bool) string { return "merged into the file already there" }

// Render merges the credentials into the ecs.config already at the
// output's path (s.Existing).
func (ecsConfig) Render(s Source) ([]File, error) {
	creds, err := credentials(s)
	if err != nil {
		return nil, err
	}
	return oneFile(s)(RenderECSConfig(s.Existing, creds))
}

const (
	ecsAuthTypeVar = "ECS_ENGINE_AUTH_TYPE"
	ecsAuthDataVar = "ECS_ENGINE_AUTH_DATA"
)

// RenderECSConfig merges ECS_ENGINE_AUTH_TYPE=dockercfg and ECS_ENGINE_AUTH_DATA=<DockerCfg JSON on one line>
// into an existing /etc/ecs/ecs.config (existing may be nil), keeping every other line in place and order,
// replacing earlier ECS_ENGINE_AUTH_TYPE/DATA lines.
//
// A line is an auth line when, trimmed of surrounding white space, its text
// before the first '=' (also trimmed) is one of the two names; comments are
// other lines. All auth lines are removed and the new pair is written where
// the first of them was, or appended at the end. Other lines are kept byte
// for byte; the output ends with a newline.
func RenderECSConfig(existing []byte, creds []Credential) ([]byte, error) {
	doc, err := dockerCfgDoc(creds)
	if err != nil {
		return nil, fmt.Errorf("ecs.config: %w", err)
	}
	var out bytes.Buffer
	writeAuth := func() {
		out.WriteString(ecsAuthTypeVar + "=dockercfg\n")
		out.WriteString(ecsAuthDataVar + "=")
		out.Write(doc)
		out.WriteByte('\n')
	}
	written := false
	rest := existing
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if isECSAuthLine(line) {
			if !written {
				writeAuth()
				written = true
			}
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	if !written {
		writeAuth()
	}
	return out.Bytes(), nil
}

func isECSAuthLine(line []byte) bool {
	key, _, ok := bytes.Cut(bytes.TrimSpace(line), []byte("="))
	if !ok {
		return false
	}
	switch string(bytes.TrimSpace(key)) {
	case ecsAuthTypeVar, ecsAuthDataVar:
		return true
	}
	return false
}
