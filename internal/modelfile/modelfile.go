// Package modelfile opens models from disk or from the embedded presets. It
// keeps file reading out of the model package, which does no I/O.
package modelfile

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// Load reads and compiles a model file.
func Load(path string) (*model.Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &rolecall.Error{Op: "model.Load", Kind: rolecall.NotFound, Name: path, Msg: "cannot read the model file", Err: err}
	}
	return model.Parse(path, data)
}

// Open loads a model by preset name or file path: an argument naming an
// existing file is read from disk, otherwise it is looked up among the
// presets.
func Open(nameOrPath string) (*model.Model, error) {
	if st, err := os.Stat(nameOrPath); err == nil && !st.IsDir() {
		return Load(nameOrPath)
	}
	if strings.ContainsAny(nameOrPath, "/\\") || filepath.Ext(nameOrPath) != "" {
		return nil, rolecall.E("model.Open", rolecall.NotFound, nameOrPath, "no such model file; give a path to a model file or a preset name ("+strings.Join(model.Presets(), ", ")+")")
	}
	return model.Preset(nameOrPath)
}
