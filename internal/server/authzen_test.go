package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAuthZEN: the AuthZEN 1.0 endpoints over the example world (Re:infer:
// bob views claims' sources; ann administers them).
func TestAuthZEN(t *testing.T) {
	ts, _ := start(t)
	call := func(path, key, body string, hdr ...string) (int, map[string]any, http.Header) {
		t.Helper()
		r := pdp{t, ts, tokens[key]}.post(path, "application/json", body, hdr...)
		return r.status, r.body, r.header
	}
	eval := func(subject, action, resType, resID string) string {
		return `{"subject":{"type":"user","id":"` + subject + `"},"action":{"name":"` + action + `"},"resource":{"type":"` + resType + `","id":"` + resID + `"},"context":{"time":"now"},"foo":1}`
	}

	code, m, h := call("/access/v1/evaluation", "ann", eval("bob", "view_sources", "source", "mail"), "X-Request-ID", "r-1")
	if code != 200 || m["decision"] != true || h.Get("X-Request-ID") != "r-1" {
		t.Fatalf("evaluation: %d %v %v", code, m, h)
	}
	code, m, _ = call("/access/v1/evaluation", "ann", eval("bob", "sources_admin", "source", "mail"))
	if code != 200 || m["decision"] != false {
		t.Fatalf("a denial: %d %v", code, m)
	}
	code, m, _ = call("/access/v1/evaluation", "ann", eval("nobody", "view_sources", "project", "claims"))
	if code != 200 || m["decision"] != false {
		t.Fatalf("an unknown subject: %d %v", code, m)
	}
	for _, bad := range []string{`{"subject":{"type":"user","id":"bob"}}`, `{"subject":"bob","action":{"name":"x"},"resource":{"type":"a","id":"b"}}`, `[1]`, ``} {
		if code, _, _ := call("/access/v1/evaluation", "ann", bad); code != 400 {
			t.Errorf("malformed %q: %d, want 400", bad, code)
		}
	}
	if code, _, h := call("/access/v1/evaluation", "", eval("bob", "view_sources", "source", "mail")); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no key: %d %v", code, h)
	}
	// an organization's key sees nothing of another organization
	code, m, _ = call("/access/v1/evaluation", "ann", eval("bob", "view_sources", "tenant", "globex"))
	if code != 200 || m["decision"] != false {
		t.Fatalf("another organization: %d %v", code, m)
	}

	// batch: defaults replaced whole; semantics
	batch := `{"subject":{"type":"user","id":"bob"},"action":{"name":"view_sources"},"resource":{},
	  "evaluations":[{"resource":{"type":"source","id":"mail"}},{"action":{"name":"sources_admin"},"resource":{"type":"source","id":"mail"}},{}, {"resource":{"type":"source","id":"invoices"}}]%s}`
	code, m, _ = call("/access/v1/evaluations", "ann", strings.Replace(batch, "%s", "", 1))
	evs, _ := m["evaluations"].([]any)
	if code != 200 || len(evs) != 4 || evs[0].(map[string]any)["decision"] != true || evs[1].(map[string]any)["decision"] != false ||
		evs[2].(map[string]any)["context"] == nil || evs[3].(map[string]any)["decision"] != true {
		t.Fatalf("execute_all: %d %v", code, m)
	}
	if _, ok := evs[0].(map[string]any)["context"]; ok {
		t.Errorf("a plain decision carries a context: %v", evs[0])
	}
	for sem, want := range map[string]int{"deny_on_first_deny": 2, "permit_on_first_permit": 1} {
		_, m, _ = call("/access/v1/evaluations", "ann", strings.Replace(batch, "%s", `,"options":{"evaluations_semantic":"`+sem+`"}`, 1))
		if evs, _ := m["evaluations"].([]any); len(evs) != want {
			t.Errorf("%s: %d results, want %d: %v", sem, len(evs), want, m)
		}
	}
	if code, m, _ = call("/access/v1/evaluations", "ann", eval("bob", "view_sources", "source", "mail")); code != 200 || m["decision"] != true {
		t.Fatalf("evaluations without items acts as one evaluation: %d %v", code, m)
	}

	// search
	code, m, _ = call("/access/v1/search/subject", "ann", `{"subject":{"type":"user"},"action":{"name":"view_sources"},"resource":{"type":"source","id":"mail"},"page":{"limit":1}}`)
	res, _ := m["results"].([]any)
	page, _ := m["page"].(map[string]any)
	if code != 200 || len(res) != 1 || res[0].(map[string]any)["id"] != "ann" || page["next_token"] == "" {
		t.Fatalf("subject search, page 1: %d %v", code, m)
	}
	code, m, _ = call("/access/v1/search/subject", "ann", `{"subject":{"type":"user"},"action":{"name":"view_sources"},"resource":{"type":"source","id":"mail"},"page":{"limit":1,"token":"`+page["next_token"].(string)+`"}}`)
	res, _ = m["results"].([]any)
	if page, _ := m["page"].(map[string]any); code != 200 || len(res) != 1 || res[0].(map[string]any)["id"] != "bob" || page["next_token"] != "" {
		t.Fatalf("subject search, page 2: %d %v", code, m)
	}
	code, m, _ = call("/access/v1/search/resource", "ann", `{"subject":{"type":"user","id":"bob"},"action":{"name":"view_sources"},"resource":{"type":"source"}}`)
	if res, _ := m["results"].([]any); code != 200 || len(res) != 2 {
		t.Fatalf("resource search: %d %v", code, m)
	}
	code, m, _ = call("/access/v1/search/action", "ann", `{"subject":{"type":"user","id":"bob"},"resource":{"type":"source","id":"mail"}}`)
	names := map[string]bool{}
	for _, r := range m["results"].([]any) {
		names[r.(map[string]any)["name"].(string)] = true
	}
	if code != 200 || !names["view_sources"] || names["sources_admin"] {
		t.Fatalf("action search: %d %v", code, m)
	}
	for _, path := range []string{"/access/v1/search/subject", "/access/v1/search/resource"} {
		code, m, _ = call(path, "ann", `{"subject":{"type":"user","id":"nobody"},"action":{"name":"view_sources"},"resource":{"type":"nothing","id":"x"}}`)
		if res, ok := m["results"].([]any); code != 200 || !ok || len(res) != 0 {
			t.Errorf("%s with unknown names: %d %v, want no results", path, code, m)
		}
	}
	if code, _, _ := call("/access/v1/search/action", "ann", `{"subject":{"type":"user"},"resource":{"type":"source","id":"mail"}}`); code != 400 {
		t.Errorf("action search without a subject id: %d, want 400", code)
	}

	// metadata, public
	res2, err := ts.Client().Get(ts.URL + "/.well-known/authzen-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	json.NewDecoder(res2.Body).Decode(&md)
	res2.Body.Close()
	if md["policy_decision_point"] != ts.URL || md["access_evaluation_endpoint"] != ts.URL+"/access/v1/evaluation" || md["search_action_endpoint"] == "" {
		t.Fatalf("metadata: %v", md)
	}
}
