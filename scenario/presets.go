package scenario

import (
	"embed"
	"fmt"
	"path"

	"github.com/rolecall/rolecall"
)

//go:embed presets/*.yaml
var presets embed.FS

// PresetFile returns the scenario file of a preset (its demo organization
// and access cases), embedded in the binary.
func PresetFile(preset string) ([]byte, error) {
	b, err := presets.ReadFile(path.Join("presets", preset+".yaml"))
	if err != nil {
		return nil, rolecall.E("scenario.PresetFile", rolecall.NotFound, preset, "no scenario file for this preset")
	}
	return b, nil
}

// Fixture returns the data of the file's fixture: the demo organization a
// server can start from.
func (s *Suite) Fixture() (*rolecall.Snapshot, error) {
	w := &world{}
	w.apply(&s.doc.Fixture)
	d, err := w.data(s.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: fixture: %w", s.Path, err)
	}
	return d, nil
}
