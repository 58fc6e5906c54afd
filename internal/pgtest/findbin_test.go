package pgtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBin(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "16"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "pg_ctl"} {
			if v == "16" && name == "pg_ctl" {
				continue // an incomplete install is passed over
			}
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", "")
	if got, err := findBin(filepath.Join(root, "*", "bin")); err != nil || got != filepath.Join(root, "15", "bin") {
		t.Errorf("findBin = %q, %v; want the highest complete version, 15", got, err)
	}
	_, err := findBin(filepath.Join(root, "none", "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("findBin without binaries: %v; want an error saying what to install", err)
	}
}
