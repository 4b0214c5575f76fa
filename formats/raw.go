package formats

// Raw writes the value as it is.
const Raw Name = "raw"

func init() { add(Raw, raw{}) }

type raw struct{ base }

func (raw) Doc() string { return "the value as is" }

func (raw) Render(s Source) ([]File, error) {
	return []File{{Path: s.Path, Data: s.Inputs["value"]}}, nil
}
