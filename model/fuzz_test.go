package model

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse the presets, the invalid fixtures and their
// mutations. Parse must not panic, and must return either a model or a
// non-empty list of *Error, each positioned at a line (the internal error,
// a recovered panic, is the one exception). A model that compiles must
// render with Show.
func FuzzParse(f *testing.F) {
	for _, name := range Presets() {
		data, err := PresetSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err == nil {
			if m == nil {
				t.Fatal("Parse returned neither a model nor an error")
			}
			m.Show(io.Discard)
			return
		}
		if m != nil {
			t.Fatalf("Parse returned a model and an error: %v", err)
		}
		var list interface{ Unwrap() []error }
		if !errors.As(err, &list) || len(list.Unwrap()) == 0 {
			t.Fatalf("Parse error is not a non-empty list: %T %v", err, err)
		}
		for _, e := range list.Unwrap() {
			var pe *Error
			if !errors.As(e, &pe) {
				t.Fatalf("Parse error %T is not a *model.Error: %v", e, e)
			}
			if pe.Line > 0 || strings.HasPrefix(pe.Msg, "internal error") {
				continue
			}
			t.Errorf("error without a position: %v", pe)
		}
	})
}
