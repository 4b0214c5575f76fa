package formats

import "fmt"

// DockerConfigJSON writes a docker config.json.
const DockerConfigJSON Name = "dockerconfigjson"

func init() { add(DockerConfigJSON, dockerConfigJSON{}) }

type dockerConfigJSON struct{ login }

func (dockerConfigJSON) Doc() string { return "docker config.json with \"auths\"" }

// CheckLogins refuses two names for one registry; unlike the ECS agent's
// documents, config.json may hold several registries of one host.
func (dockerConfigJSON) CheckLogins(registries []string) error {
	_, err := checkRegistries(registries, false)
	return err
}

func (dockerConfigJSON) Render(s Source) ([]File, error) {
	creds, err := credentials(s)
	if err != nil {
		return nil, err
	}
	return oneFile(s)(RenderDockerConfigJSON(creds))
}

type dockerConfigEntry struct {
	Auth  string `json:"auth"`
	Email string `json:"email,omitempty"`
}

type dockerConfig struct {
	Auths map[string]dockerConfigEntry `json:"auths"`
}

// RenderDockerConfigJSON: docker config.json: {"auths": {"registry": {"auth": base64(user:pass)}}}
// (add email only if non-empty).
//
// The document is tab-indented like the docker CLI writes it, keys sorted,
// followed by a newline. Docker Hub spellings are written as
// "https://index.docker.io/v1/"; other names as given, paths included
// (Kaniko and crane match them against the repository).
func RenderDockerConfigJSON(creds []Credential) ([]byte, error) {
	entries, err := authEntries(creds, false)
	if err != nil {
		return nil, fmt.Errorf("docker config.json: %w", err)
	}
	doc := dockerConfig{Auths: make(map[string]dockerConfigEntry, len(entries))}
	for _, e := range entries {
		doc.Auths[e.key] = dockerConfigEntry{Auth: e.auth, Email: e.email}
	}
	out, err := marshalJSON(doc, "\t")
	if err != nil {
		return nil, fmt.Errorf("docker config.json: %w", err)
	}
	return append(out, '\n'), nil
}
