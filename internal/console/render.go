package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"join":  strings.Join,
	"query": url.QueryEscape,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"add":   func(a, b int) int { return a + b },
}

// parse reads the templates: every page is the layout, the shared parts
// and its own file.
func (c *Console) parse() error {
	shared, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/templates/layout.html", "web/templates/parts.html")
	if err != nil {
		return fmt.Errorf("console templates: %w", err)
	}
	files, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(shared.Clone()).ParseFS(webFS, f)
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// render writes a whole page; it is rendered to a buffer first, so that a
// template error never sends half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	tmpl := "layout.html"
	if t, ok := c.pages[page]; ok && t.Lookup("document") != nil {
		tmpl = "document" // a page outside the signed-in layout (sign-in)
	}
	c.write(w, status, page, tmpl, data)
}

// renderPart writes one template of a page: what htmx swaps in.
func (c *Console) renderPart(w http.ResponseWriter, status int, page, part string, data any) {
	c.write(w, status, page, part, data)
}

func (c *Console) write(w http.ResponseWriter, status int, page, tmpl string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.o.Log.Error("console: no such page template", "page", page)
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		c.o.Log.Error("console: rendering", "page", page, "template", tmpl, "error", err)
		http.Error(w, "the page could not be rendered; the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
