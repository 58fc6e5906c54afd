package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// fuzzPaths are the JSON endpoints: every unary procedure over Connect,
// and the AuthZEN API. The server streams (WatchService/Watch,
// ImportService/Export) are not plain JSON POSTs: Connect takes their
// request as an enveloped message (application/connect+json) and answers
// 200 with the error in the stream's last frame, so this harness cannot
// judge them; TestExportRefusals covers Export's bad requests.
var fuzzPaths = []string{
	"/rolecall.v1.AuthzService/Check", "/rolecall.v1.AuthzService/CheckBulk", "/rolecall.v1.AuthzService/Explain",
	"/rolecall.v1.AuthzService/Effective", "/rolecall.v1.AuthzService/LookupResources", "/rolecall.v1.AuthzService/LookupSubjects",
	"/rolecall.v1.AdminService/Act", "/rolecall.v1.AdminService/Audit", "/rolecall.v1.AdminService/Members",
	"/rolecall.v1.ModelService/Get", "/rolecall.v1.ModelService/Validate", "/rolecall.v1.ImportService/Import",
	"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/subject", "/access/v1/search/resource", "/access/v1/search/action",
}

// FuzzJSON sends arbitrary bodies to every JSON endpoint, as an
// organization's key and as the operator's: the server never fails inside
// (500), never panics, and answers every request with JSON.
func FuzzJSON(f *testing.F) {
	seeds := []string{
		`{"subject":"bob","permission":"view_sources","target":{"resource":{"type":"source","id":"mail"}}}`,
		`{"checks":[{"subject":"bob","permission":"view_sources","target":{"scope":"claims"}}],"consistency":{"atLeastAsFresh":"99"}}`,
		`{"subject":"bob","permission":"view_sources","type":"source","page":{"limit":1,"after":"x"}}`,
		`{"permission":"view_sources","target":{"resource":{"type":"source","id":"mail"}},"groups":true}`,
		`{"act":"grant_permissions","user":"bob","scope":"claims","permissions":["view_labels"]}`,
		`{"org":"acme","actor":"ann","limit":5}`,
		`{"org":"acme","search":"b","limit":2}`,
		`{"name":"m.yaml","source":"model: x\nlevels: []\n"}`,
		`{"lines":["{\"kind\":\"user\",\"value\":{\"id\":\"zed\"}}"]}`,
		`{"subject":{"type":"user","id":"bob","properties":{"a":[1,{"b":null}]}},"action":{"name":"view_sources"},"resource":{"type":"source","id":"mail"},"context":{}}`,
		`{"subject":{"type":"user","id":"bob"},"action":{"name":"view_sources"},"evaluations":[{},{"resource":{"type":"project","id":"claims"}}],"options":{"evaluations_semantic":"deny_on_first_deny"}}`,
		`{"subject":{"type":"user"},"action":{"name":"view_sources"},"resource":{"type":"source","id":"mail"},"page":{"limit":1,"token":"zz"}}`,
		`{"unknownField":1}`, `[]`, `null`, `"x"`, `{"subject":{"type":7}}`, `{`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), false, s)
		f.Add(uint8(i+7), true, s)
	}
	w := testenv.OpenAcme(f)
	_, org := w.Key(f, "acme", "ann")
	_, operator := w.Key(f, "", "")
	tokens := map[bool]string{false: org, true: operator}
	h := server.Handler(w.Options())
	f.Fuzz(func(t *testing.T, which uint8, operator bool, body string) {
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[operator])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: %d, not JSON: %q", path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK && rec.Body.Len() < 10 {
			t.Fatalf("%s %q: %d with no message: %q", path, body, rec.Code, rec.Body)
		}
	})
}
