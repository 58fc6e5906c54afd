package rolecall

import (
	"strings"
	"testing"
)

func TestFilterCheck(t *testing.T) {
	for _, tc := range []struct {
		f    Filter
		want string // "" when valid
	}{
		{Filter{Kind: ObjBinding, User: "bob"}, ""},
		{Filter{Kind: ObjResource, Scope: "p1", Type: "dataset"}, ""},
		{Filter{Kind: ObjDomain, Org: "acme"}, ""},
		{Filter{}, "has no kind"},
		{Filter{Kind: ObjBinding}, "would select every binding; give also one of org, scope, type, user, group"},
		{Filter{Kind: ObjUser, Org: "acme"}, "gives org, which objects of kind user lack; they can be selected by nothing"},
		{Filter{Kind: ObjGroup, User: "ann", Type: "x"}, "gives type, user, which objects of kind group lack; they can be selected by org, scope"},
		{Filter{Kind: ObjAudit, Org: "acme"}, "never deleted"},
		{Filter{Kind: "nope", Org: "acme"}, `"nope" is not a kind`},
	} {
		err := tc.f.Check("test")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.f, err)
		case tc.want != "" && (err == nil || KindOf(err) != Invalid || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an invalid error saying %q", tc.f, err, tc.want)
		}
	}
}
