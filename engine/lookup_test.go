package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
)

// TestLookupPaging pages through answers with every limit and checks the
// pages add up to the whole answer, and that cursors are refused when they
// belong to another query, another revision, or were altered.
func TestLookupPaging(t *testing.T) {
	f := newRBACDP(t, smallParams(), 10)
	e := f.e
	for _, user := range []string{"user_0", "user_7", "user_61"} {
		q := engine.ResourceQuery{Subject: user, Permission: "labels_view", Type: "dataset"}
		all, next, err := e.LookupResources(q)
		if err != nil || next != "" {
			t.Fatalf("whole answer: %v, next %q", err, next)
		}
		for _, limit := range []int{1, 7, 100, len(all), len(all) + 1} {
			var got []string
			q.Page = rolecall.Page{Limit: limit}
			for pages := 0; ; pages++ {
				ids, next, err := e.LookupResources(q)
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) > limit {
					t.Fatalf("page of %d ids with limit %d", len(ids), limit)
				}
				got = append(got, ids...)
				if next == "" {
					break
				}
				q.Page.After = next
				if pages > len(all)+1 {
					t.Fatal("paging does not end")
				}
			}
			q.Page.After = ""
			if !slices.Equal(got, all) {
				t.Fatalf("%s, limit %d: pages give %d ids, the whole answer %d", user, limit, len(got), len(all))
			}
		}
	}

	_, next, err := e.LookupResources(engine.ResourceQuery{Subject: "user_0", Permission: "labels_view", Type: "dataset", Page: rolecall.Page{Limit: 2}})
	if err != nil || next == "" {
		t.Fatalf("want a next cursor: %v", err)
	}
	for _, tt := range []struct {
		name string
		q    engine.ResourceQuery
		want string
	}{
		{"another query", engine.ResourceQuery{Subject: "user_1", Permission: "labels_view", Type: "dataset", Page: rolecall.Page{After: next}}, "another query"},
		{"altered", engine.ResourceQuery{Subject: "user_0", Permission: "labels_view", Type: "dataset", Page: rolecall.Page{After: alter(next)}}, "altered"},
		{"garbage", engine.ResourceQuery{Subject: "user_0", Permission: "labels_view", Type: "dataset", Page: rolecall.Page{After: "x!"}}, "not one this service issued"},
	} {
		if _, _, err := e.LookupResources(tt.q); err == nil || !strings.Contains(err.Error(), tt.want) || rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("%s: err = %v, want Invalid mentioning %q", tt.name, err, tt.want)
		}
	}
	e.Revision++
	if _, _, err := e.LookupResources(engine.ResourceQuery{Subject: "user_0", Permission: "labels_view", Type: "dataset", Page: rolecall.Page{After: next}}); rolecall.KindOf(err) != rolecall.FailedPrecondition {
		t.Errorf("a cursor from an older revision: err = %v, want FailedPrecondition", err)
	}
}

func alter(c string) string {
	b := []byte(c)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

// TestLookupMatchesTruth: on the workload, each user's labels_view lookup
// has exactly the generator's count.
func TestLookupMatchesTruth(t *testing.T) {
	f := newRBACDP(t, smallParams(), 10)
	for u := 0; u < f.w.Users; u++ {
		ids, _, err := f.e.LookupResources(engine.ResourceQuery{Subject: userID(u), Permission: "labels_view", Type: "dataset"})
		if err != nil {
			t.Fatal(err)
		}
		if want := f.w.LookupCount(u, 3); len(ids) != want {
			t.Fatalf("user %d: %d datasets, truth %d", u, len(ids), want)
		}
	}
}
