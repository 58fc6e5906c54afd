package rolecall_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection keeps the core free of I/O and the imports flowing
// from the edges in: the vocabulary, the model, the engine and conditions
// import no I/O packages and none of the edge packages.
func TestImportDirection(t *testing.T) {
	io := []string{"os", "os/exec", "net", "net/http", "database/sql", "io/ioutil", "syscall"}
	edges := []string{"/scenario", "/cmd/", "/internal/modelfile", "/sqlite", "/postgres", "/internal/server", "/internal/console", "/admin", "/client"}
	core := map[string][]string{
		".":           {"/model", "/engine", "/condition"},
		"./model":     {"/engine"},
		"./condition": {"/model", "/engine"},
		"./engine":    nil,
	}
	for dir, alsoBanned := range core {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if slices.Contains(io, imp) {
				t.Errorf("package %s imports %s; the core does no I/O (read files at the edges)", dir, imp)
			}
			if strings.HasPrefix(imp, "github.com/rolecall/rolecall") {
				rest := strings.TrimPrefix(imp, "github.com/rolecall/rolecall")
				for _, b := range append(edges, alsoBanned...) {
					if strings.HasPrefix(rest+"/", b+"/") || strings.HasPrefix(rest, b) && strings.HasSuffix(b, "/") {
						t.Errorf("package %s imports %s; imports flow from the edges in", dir, imp)
					}
				}
			}
		}
	}
}
