package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// serveWorld serves a world over HTTP/2 with TLS and returns the server and
// an API key of org acting as user.
func serveWorld(t *testing.T, w *testenv.World, org, user string) (*httptest.Server, string) {
	t.Helper()
	_, token := w.Key(t, org, user)
	return testenv.Serve(t, server.Handler(w.Options()), true), token
}

// pdp calls the AuthZEN API of one server.
type pdp struct {
	t     *testing.T
	ts    *httptest.Server
	token string
}

// reply is an answer of the API.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // nil unless the body is a JSON object
}

func (p pdp) post(path, contentType, body string, header ...string) reply {
	p.t.Helper()
	req, err := http.NewRequest("POST", p.ts.URL+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := p.ts.Client().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	r.raw, _ = io.ReadAll(res.Body)
	json.Unmarshal(r.raw, &r.body)
	return r
}

// certCase is one request of the certification scenario with what the
// scenario expects of its answer.
type certCase struct {
	id     string // the section's test id, c-2-2-1
	label  string // the bold line naming the request, if any
	path   string // the endpoint
	body   string // the request, as the scenario writes it
	status int    // the HTTP status expected
	// expect is the expected body (placeholders <boolean> and <context>
	// read as null: any value of the right shape), or nil.
	expect map[string]any
	// text is the expected line's prose ("identical to [](#c-4-2-1)").
	text string
}

var (
	boldLabel = regexp.MustCompile(`^\*\*(.+?):?\*\*`)
	sameAs    = regexp.MustCompile(`identical to \[\]\(#(c-[0-9-]+)\)`)
	sectionID = regexp.MustCompile(`\{#(c-[0-9-]+)\}\s*$`)
	httpCode  = regexp.MustCompile(`HTTP (\d{3})`)
	inlineDec = regexp.MustCompile("`\"decision\": (true|false)`")
)

// parseScenario reads every request of sections c-2 to c-4 of the
// certification scenario, with its expectation: a request is a json block
// after a bold line naming it; its expectation the **Expected:** line after
// it and the block that follows that line, if any.
func parseScenario(t *testing.T, file string) []certCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out              []certCase
		id, label        string
		cur              *certCase
		inBlock, isJSON  bool
		block            strings.Builder
		wantRequestBlock bool
		wantExpectBlock  bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if inBlock {
			if strings.HasPrefix(line, "~~~") {
				inBlock = false
				switch {
				case wantRequestBlock && isJSON:
					out = append(out, certCase{id: id, label: label, path: endpointOf(id, label), body: block.String(), status: 200})
					cur = &out[len(out)-1]
					wantRequestBlock = false
				case wantExpectBlock && cur != nil:
					text := strings.NewReplacer("<boolean>", "null", "<context>", "null").Replace(block.String())
					if err := json.Unmarshal([]byte(text), &cur.expect); err != nil {
						t.Fatalf("%s: the expected body does not parse: %v\n%s", cur.id, err, text)
					}
					wantExpectBlock = false
				}
				continue
			}
			block.WriteString(line + "\n")
			continue
		}
		switch {
		case strings.HasPrefix(line, "#"):
			if m := sectionID.FindStringSubmatch(line); m != nil {
				id, label, cur = m[1], "", nil
			}
			wantRequestBlock, wantExpectBlock = false, false
		case strings.HasPrefix(line, "~~~"):
			inBlock, isJSON = true, strings.TrimSpace(strings.TrimPrefix(line, "~~~")) == "json"
			block.Reset()
		case strings.HasPrefix(line, "**Expected:**"):
			if cur == nil {
				continue
			}
			if m := httpCode.FindStringSubmatch(line); m != nil {
				cur.status, _ = strconv.Atoi(m[1])
			}
			cur.text = line
			if m := inlineDec.FindStringSubmatch(line); m != nil {
				cur.expect = map[string]any{"decision": m[1] == "true"}
			}
			wantExpectBlock = true
		case strings.HasPrefix(line, "**") && (strings.Contains(line, "Request") || strings.Contains(line, "Search (")):
			label, cur = line, nil
			wantRequestBlock, wantExpectBlock = true, false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(out, func(c certCase) bool { return c.path == "" })
}

// endpointOf is the endpoint a request of a section is sent to: the one
// its label names, else the one of its section.
func endpointOf(id, label string) string {
	for name, path := range map[string]string{"Subject Search": "/access/v1/search/subject", "Resource Search": "/access/v1/search/resource", "Action Search": "/access/v1/search/action"} {
		if strings.Contains(label, name) {
			return path
		}
	}
	for _, p := range []struct{ prefix, path string }{
		{"c-2-", "/access/v1/evaluation"}, {"c-3-", "/access/v1/evaluations"},
		{"c-4-2", "/access/v1/search/subject"}, {"c-4-3", "/access/v1/search/resource"},
		{"c-4-4", "/access/v1/search/action"}, {"c-4-5", "/access/v1/search/subject"},
	} {
		if strings.HasPrefix(id+"-", p.prefix) {
			return p.path
		}
	}
	return ""
}

// matrix reads the scenario's Test ID Matrix: level -> test ids.
func matrix(t *testing.T, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	row := regexp.MustCompile(`^\| \*\*([^*]+)\*\* \| (.*) \|$`)
	ref := regexp.MustCompile(`\[\]\(#(c-[0-9-]+)\)`)
	for _, line := range strings.Split(string(b), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[2], "[](#c-") {
			continue
		}
		for _, r := range ref.FindAllStringSubmatch(m[2], -1) {
			out[m[1]] = append(out[m[1]], r[1])
		}
	}
	return out
}

const scenarioFile = "../../testdata/authzen/authorization-api-1_0-scenario.md"

// TestAuthZENCertification runs every request of the AuthZEN 1.0
// certification scenario against the server holding the fixture of
// examples/authzen-cert, checks each answer as the scenario says, checks
// the requirements it states in prose (content type, malformed bodies,
// X-Request-ID, idempotency, metadata), and fails if an id of the scenario's
// test matrix went unchecked.
func TestAuthZENCertification(t *testing.T) {
	w := testenv.Open(t, "examples/authzen-cert/model.yaml", "examples/authzen-cert/data.jsonl")
	ts, token := serveWorld(t, w, "records", "alice")
	p := pdp{t, ts, token}
	checked := map[string]bool{}
	results := map[string][]any{} // search results by case id
	nextToken := ""

	cases := parseScenario(t, scenarioFile)
	if len(cases) < 40 {
		t.Fatalf("read %d requests from the scenario; the file has more than 40: is the parser out of step with it?", len(cases))
	}
	for _, c := range cases {
		name := c.id
		if m := boldLabel.FindStringSubmatch(c.label); m != nil {
			name += " " + m[1]
		}
		t.Run(name, func(t *testing.T) {
			body := c.body
			if strings.Contains(body, "<next_token from previous response>") {
				if nextToken == "" {
					t.Fatal("the page limit request returned no next_token to follow")
				}
				body = strings.Replace(body, "<next_token from previous response>", nextToken, 1)
			}
			r := p.post(c.path, "application/json", body)
			if r.status != c.status {
				t.Fatalf("%s: HTTP %d, want %d: %s", c.path, r.status, c.status, r.raw)
			}
			if r.status != 200 {
				checked[c.id] = true
				return
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || r.body == nil {
				t.Fatalf("a success must be a JSON object (Content-Type %q): %s", ct, r.raw)
			}
			switch {
			case strings.Contains(c.path, "/search/"):
				got := checkSearch(t, c, r)
				results[c.id] = got
				if c.id == "c-4-5-1" {
					nextToken, _ = r.body["page"].(map[string]any)["next_token"].(string)
				}
				if m := sameAs.FindStringSubmatch(c.text); m != nil {
					if want, ok := results[m[1]]; !ok || !sameSet(got, want) {
						t.Fatalf("results %v, want those of %s: %v", got, m[1], want)
					}
				}
			case r.body["evaluations"] != nil || c.expect != nil && c.expect["evaluations"] != nil:
				checkEvaluations(t, c, r)
			default:
				checkDecision(t, r.body, c.expect)
			}
			checked[c.id] = true
		})
	}

	// c-2-3: every decision above was a boolean, and each context an object
	checked["c-2-3"] = true
	// c-3-3: length, order, a decision in each item (checkEvaluations)
	checked["c-3-3"] = true
	// c-4-5: paging with limit and token (c-4-5-1, c-4-5-2 above)
	checked["c-4-5"] = checked["c-4-5-1"] && checked["c-4-5-2"]
	// c-4-6: the same for every search endpoint, not just the examples
	t.Run("c-4-6 every endpoint", func(t *testing.T) {
		for path, body := range map[string]string{
			"/access/v1/search/subject":  `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"no-such-record"}}`,
			"/access/v1/search/resource": `{"subject":{"type":"user","id":"nobody"},"action":{"name":"read"},"resource":{"type":"record"}}`,
			"/access/v1/search/action":   `{"subject":{"type":"user","id":"alice"},"resource":{"type":"spaceship","id":"x"}}`,
		} {
			r := p.post(path, "application/json", body)
			if res, ok := r.body["results"].([]any); r.status != 200 || !ok || len(res) != 0 {
				t.Errorf("%s: %d %s, want 200 and no results", path, r.status, r.raw)
			}
		}
		checked["c-4-6"] = true
	})
	fixture := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`
	t.Run("c-2-4 bodies the API refuses", func(t *testing.T) {
		for _, c := range []struct{ id, contentType, body string }{
			{"c-2-4-3", "text/plain", fixture},
			{"c-2-4-3", "", fixture},
			{"c-2-4-4", "application/json", `{"subject": {"type": "user", "id": "alice"`},
			{"c-2-4-5", "application/json", ``},
			{"c-2-4-6", "application/json", `[` + fixture + `]`},
		} {
			for _, path := range []string{"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/subject"} {
				if r := p.post(path, c.contentType, c.body); r.status != 400 {
					t.Errorf("%s %s (%q): %d, want 400", c.id, path, c.body, r.status)
				}
			}
			checked[c.id] = true
		}
		if r := p.post("/access/v1/evaluation", "application/json; charset=utf-8", fixture); r.status != 200 {
			t.Errorf("a charset parameter: %d %s", r.status, r.raw)
		}
	})
	t.Run("c-2-5 X-Request-ID", func(t *testing.T) {
		for _, path := range []string{"/access/v1/evaluation", "/access/v1/evaluations", "/access/v1/search/resource"} {
			body := fixture
			if strings.HasSuffix(path, "resource") {
				body = `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}}`
			}
			if r := p.post(path, "application/json", body, "X-Request-ID", "req-7"); r.header.Get("X-Request-ID") != "req-7" {
				t.Errorf("%s: X-Request-ID %q, want req-7", path, r.header.Get("X-Request-ID"))
			}
			if r := p.post(path, "application/json", body); r.status != 200 {
				t.Errorf("%s without X-Request-ID: %d", path, r.status)
			}
		}
		checked["c-2-5"] = true
	})
	t.Run("c-2-6 idempotency", func(t *testing.T) {
		for _, c := range []struct {
			body string
			want bool
		}{{fixture, true}, {`{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, false}} {
			for i := range 5 {
				if r := p.post("/access/v1/evaluation", "application/json", c.body); r.body["decision"] != c.want {
					t.Fatalf("call %d: %s, want decision %v", i+1, r.raw, c.want)
				}
			}
		}
		checked["c-2-6"] = true
	})
	t.Run("c-6 metadata", func(t *testing.T) {
		res, err := ts.Client().Get(ts.URL + "/.well-known/authzen-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var md map[string]any
		if err := json.NewDecoder(res.Body).Decode(&md); err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("metadata: %d %v %v", res.StatusCode, md, err)
		}
		if md["policy_decision_point"] != ts.URL {
			t.Errorf("policy_decision_point %v, want the base URL %s", md["policy_decision_point"], ts.URL)
		}
		for k, v := range md {
			switch {
			case strings.HasSuffix(k, "_endpoint"):
				if s, _ := v.(string); !strings.HasPrefix(s, "https://") || strings.ContainsAny(s, "?#") {
					t.Errorf("%s: %v is not an https URL", k, v)
				}
			case k == "capabilities":
				if _, ok := v.([]any); !ok {
					t.Errorf("capabilities: %v is not an array", v)
				}
			}
		}
		if md["access_evaluation_endpoint"] == nil {
			t.Error("no access_evaluation_endpoint")
		}
		checked["c-6"] = true
	})
	// The fixture's stored attributes agree with the properties the
	// scenario states; here they contradict them, and the stated ones win.
	t.Run("properties over stored attributes", func(t *testing.T) {
		for _, c := range []struct{ path, body, want string }{
			{"/access/v1/evaluation", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1","properties":{"status":"archived"}}}`, `{"decision":false}`},
			{"/access/v1/evaluation", `{"subject":{"type":"user","id":"alice","properties":{"role":"admin"}},"action":{"name":"write"},"resource":{"type":"record","id":"record-2"}}`, `{"decision":true}`},
			{"/access/v1/evaluation", `{"subject":{"type":"user","id":"bob","properties":{"role":"viewer"}},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, `{"decision":true}`},
			{"/access/v1/search/resource", `{"subject":{"type":"user","id":"alice","properties":{"role":"admin"}},"action":{"name":"write"},"resource":{"type":"record"}}`, `{"page":{"next_token":"","count":1},"results":[{"type":"record","id":"record-2"}]}`},
			{"/access/v1/search/subject", `{"subject":{"type":"user"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1","properties":{"status":"archived"}}}`, `{"page":{"next_token":"","count":1},"results":[{"type":"user","id":"bob"}]}`},
			{"/access/v1/search/action", `{"subject":{"type":"user","id":"alice","properties":{"role":"admin"}},"resource":{"type":"record","id":"record-1","properties":{"status":"archived"}}}`, `{"page":{"next_token":"","count":2},"results":[{"name":"read"},{"name":"write"}]}`},
			{"/access/v1/evaluations", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"evaluations":[{"resource":{"type":"record","id":"record-1","properties":{"status":7}}},{"resource":{"type":"record","id":"record-1"}}]}`,
				`{"evaluations":[{"decision":false,"context":{"error":{"message":"resource.properties.status: the model declares it a string, and 7 is not one","status":400}}},{"decision":true}]}`},
		} {
			r := p.post(c.path, "application/json", c.body)
			if r.status != 200 || strings.TrimSpace(string(r.raw)) != c.want {
				t.Errorf("%s %s:\n got %d %s\nwant %s", c.path, c.body, r.status, r.raw, c.want)
			}
		}
		r := p.post("/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1","properties":{"status":["a"]}}}`)
		if r.status != 400 || !strings.Contains(string(r.raw), "resource.properties.status") {
			t.Errorf("a property of the wrong type: %d %s, want 400 naming it", r.status, r.raw)
		}
	})
	// c-5: TLS (the server above), JSON on success, 400 for missing fields,
	// X-Request-ID, unknown fields ignored: all checked above
	checked["c-5"] = true

	for level, ids := range matrix(t, scenarioFile) {
		var missing []string
		for _, id := range ids {
			if !covered(checked, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: no passing check for %v", level, missing)
		} else {
			t.Logf("%s: all %d test ids checked", level, len(ids))
		}
	}
}

// covered reports whether id, or a test below it, was checked.
func covered(checked map[string]bool, id string) bool {
	for c, ok := range checked {
		if ok && (c == id || strings.HasPrefix(c, id+"-")) {
			return true
		}
	}
	return false
}

// checkDecision checks a single decision against the expected one (a nil
// expected decision takes any boolean).
func checkDecision(t *testing.T, got, want map[string]any) {
	t.Helper()
	d, ok := got["decision"].(bool)
	if !ok {
		t.Fatalf("no boolean decision in %v", got)
	}
	if c, present := got["context"]; present {
		if _, ok := c.(map[string]any); !ok {
			t.Fatalf("context %v is not an object", c)
		}
	}
	if w, ok := want["decision"].(bool); ok && d != w {
		t.Fatalf("decision %v, want %v", d, w)
	}
}

func checkEvaluations(t *testing.T, c certCase, r reply) {
	t.Helper()
	got, ok := r.body["evaluations"].([]any)
	if !ok {
		t.Fatalf("no evaluations array: %s", r.raw)
	}
	var req struct{ Evaluations []any }
	json.Unmarshal([]byte(c.body), &req)
	if len(got) != len(req.Evaluations) {
		t.Fatalf("%d evaluations for %d requested: %s", len(got), len(req.Evaluations), r.raw)
	}
	want, _ := c.expect["evaluations"].([]any)
	if want != nil && len(want) != len(got) {
		t.Fatalf("%d evaluations, the scenario expects %d", len(got), len(want))
	}
	for i, g := range got {
		gm, ok := g.(map[string]any)
		if !ok {
			t.Fatalf("evaluation %d is not an object: %v", i, g)
		}
		var wm map[string]any
		if want != nil {
			wm, _ = want[i].(map[string]any)
		}
		checkDecision(t, gm, wm)
	}
}

// checkSearch checks a search answer: a results array of the searched kind
// and type, holding every result the scenario expects (and nothing when it
// expects none), a page with a string next_token if any; it returns the
// results.
func checkSearch(t *testing.T, c certCase, r reply) []any {
	t.Helper()
	got, ok := r.body["results"].([]any)
	if !ok {
		t.Fatalf("no results array: %s", r.raw)
	}
	if pg, present := r.body["page"]; present {
		m, ok := pg.(map[string]any)
		if !ok {
			t.Fatalf("page %v is not an object", pg)
		}
		if tok, present := m["next_token"]; present {
			if _, ok := tok.(string); !ok {
				t.Fatalf("page.next_token %v is not a string", tok)
			}
		}
	} else if c.id == "c-4-5-2" {
		t.Fatal("a request with a page token must be answered with a page")
	}
	var req map[string]map[string]any
	json.Unmarshal([]byte(c.body), &req)
	action := strings.HasSuffix(c.path, "/action")
	wantType, _ := req["subject"]["type"].(string)
	if strings.HasSuffix(c.path, "/resource") {
		wantType, _ = req["resource"]["type"].(string)
	}
	for _, g := range got {
		m, _ := g.(map[string]any)
		switch {
		case action && m["name"] == nil:
			t.Fatalf("an action result without a name: %v", g)
		case !action && (m["type"] != wantType || m["id"] == nil):
			t.Fatalf("result %v: want type %q and an id", g, wantType)
		}
	}
	want, expected := c.expect["results"].([]any)
	if expected && len(want) == 0 && len(got) != 0 {
		t.Fatalf("results %v, want none", got)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g any) bool { return reflect.DeepEqual(g, w) }) {
			t.Fatalf("results %s lack %v", r.raw, w)
		}
	}
	return got
}

func sameSet(a, b []any) bool {
	key := func(l []any) []string {
		var s []string
		for _, x := range l {
			s = append(s, fmt.Sprint(x))
		}
		slices.Sort(s)
		return s
	}
	return slices.Equal(key(a), key(b))
}

// TestAuthZENTodoInterop runs the AuthZEN interop Todo suite (payload
// version 1.0-02) against the server holding examples/authzen-todo, judged
// as the suite's runner judges: a single decision by its value, a batch by
// the exact JSON of its evaluations.
func TestAuthZENTodoInterop(t *testing.T) {
	w := testenv.Open(t, "examples/authzen-todo/model.yaml", "examples/authzen-todo/data.jsonl")
	// the Todo backend calls with a key of its organization
	ts, token := serveWorld(t, w, "todo", "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs")
	p := pdp{t, ts, token}
	b, err := os.ReadFile("../../testdata/authzen/decisions-authorization-api-1_0-02.json")
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Evaluation []struct {
			Request  json.RawMessage
			Expected bool
		}
		Evaluations []struct {
			Request  json.RawMessage
			Expected json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	if len(suite.Evaluation) != 40 || len(suite.Evaluations) != 3 {
		t.Fatalf("the suite has %d evaluations and %d batches; 40 and 3 expected", len(suite.Evaluation), len(suite.Evaluations))
	}
	pass := 0
	for i, c := range suite.Evaluation {
		r := p.post("/access/v1/evaluation", "application/json", string(c.Request))
		got, _ := r.body["decision"].(bool)
		if r.status != 200 || got != c.Expected {
			t.Errorf("evaluation %d %s: %d %s, want decision %v", i, c.Request, r.status, r.raw, c.Expected)
			continue
		}
		pass++
	}
	for i, c := range suite.Evaluations {
		r := p.post("/access/v1/evaluations", "application/json", string(c.Request))
		var got, want any
		json.Unmarshal(c.Expected, &want)
		got = r.body["evaluations"]
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if r.status != 200 || !bytes.Equal(gb, wb) {
			t.Errorf("evaluations %d: %d %s, want %s", i, r.status, gb, wb)
			continue
		}
		pass++
	}
	t.Logf("Todo interop 1.0-02: %d of %d passed", pass, len(suite.Evaluation)+len(suite.Evaluations))

	// the live backend's shape: top-level resource and context left empty
	r := p.post("/access/v1/evaluations", "application/json", `{"subject":{"type":"user","id":"CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},
	  "action":{"name":"can_delete_todo"},"resource":{},"context":{},
	  "evaluations":[{"resource":{"type":"todo","id":"t1","properties":{"ownerID":"morty@the-citadel.com"}}},
	                 {"resource":{"type":"todo","id":"t2","properties":{"ownerID":"rick@the-citadel.com"}}}]}`)
	if gb, _ := json.Marshal(r.body["evaluations"]); string(gb) != `[{"decision":true},{"decision":false}]` {
		t.Errorf("Morty deleting his own todo and Rick's: %d %s", r.status, r.raw)
	}

	// the operator's key belongs to no organization: a todo the store does
	// not hold must then name its scope
	_, optoken := w.Key(t, "", "")
	op := pdp{t, ts, optoken}
	morty := `{"subject":{"type":"user","id":"CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},"action":{"name":"can_update_todo"},`
	if r := op.post("/access/v1/evaluation", "application/json", morty+`"resource":{"type":"todo","id":"t1","properties":{"ownerID":"morty@the-citadel.com"}}}`); r.status != 400 || !strings.Contains(string(r.raw), "resource.properties.scope") {
		t.Errorf("an operator naming no scope: %d %s, want 400 naming resource.properties.scope", r.status, r.raw)
	}
	if r := op.post("/access/v1/evaluation", "application/json", morty+`"resource":{"type":"todo","id":"t1","properties":{"ownerID":"morty@the-citadel.com","scope":"todo"}}}`); r.body["decision"] != true {
		t.Errorf("an operator naming the scope: %d %s", r.status, r.raw)
	}
	if r := p.post("/access/v1/evaluation", "application/json", morty+`"resource":{"type":"todo","id":"t1","properties":{"ownerID":"morty@the-citadel.com","scope":"elsewhere"}}}`); r.body["decision"] != false {
		t.Errorf("a scope outside the key's organization: %d %s", r.status, r.raw)
	}
}
