package model

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with the golden file, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./model -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./model -update rewrites it)\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  - " + wl + "\n  + " + gl + "\n")
		}
	}
	return b.String()
}

// TestInvalidGolden parses each model of testdata/invalid, each with one kind
// of mistake, and compares the errors with its .golden file.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/invalid")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded; the fixture should hold a mistake", name)
			}
			if m != nil {
				t.Errorf("Parse(%s) returned a model with its errors", name)
			}
			for _, e := range errList(t, err) {
				if e.Line <= 0 {
					t.Errorf("error without a line: %v", e)
				}
				if strings.Contains(e.Msg, "internal error") {
					t.Errorf("internal error: %v", e)
				}
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// errList returns the *Error values of a Parse error.
func errList(t testing.TB, err error) []*Error {
	t.Helper()
	var es interface{ Unwrap() []error }
	if !errors.As(err, &es) {
		t.Fatalf("Parse error %T is not a list: %v", err, err)
	}
	var out []*Error
	for _, e := range es.Unwrap() {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("Parse error %T is not a *model.Error: %v", e, e)
		}
		out = append(out, pe)
	}
	if len(out) == 0 {
		t.Fatalf("Parse returned an empty error list")
	}
	return out
}

// TestShowGolden renders each embedded preset with Model.Show, so that
// changes to the presets show up in review as changes to these files.
func TestShowGolden(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			m, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			m.Show(&b)
			checkGolden(t, filepath.Join("testdata", "show", name+".golden"), b.Bytes())
		})
	}
}
