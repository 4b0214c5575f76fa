package formats

import "fmt"

// DockerCfg writes the ECS agent's dockercfg JSON.
const DockerCfg Name = "dockercfg"

func init() { add(DockerCfg, dockerCfg{}) }

type dockerCfg struct{ login }

func (dockerCfg) Doc() string { return "the ECS agent's dockercfg JSON (no \"auths\")" }

func (dockerCfg) CheckLogins(registries []string) error { return hostOnly(registries) }

func (dockerCfg) Render(s Source) ([]File, error) {
	creds, err := credentials(s)
	if err != nil {
		return nil, err
	}
	return oneFile(s)(RenderDockerCfg(creds))
}

// RenderDockerCfg: the ECS agent's legacy "dockercfg" JSON without "auths":
// {"registry": {"auth": base64(user:pass), "email": "..."}}.
//
// The document is compact JSON on one line (keys sorted) followed by a
// newline; "email" is always present, as in the legacy .dockercfg format.
// Docker Hub spellings are written as "https://index.docker.io/v1/". Two
// registries with the same host are an error: the ECS agent keys these
// credentials by host.
func RenderDockerCfg(creds []Credential) ([]byte, error) {
	doc, err := dockerCfgDoc(creds)
	if err != nil {
		return nil, fmt.Errorf("dockercfg: %w", err)
	}
	return append(doc, '\n'), nil
}
