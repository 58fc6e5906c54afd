package rolecall

import (
	"errors"
	"fmt"
	"testing"
)

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{E("admin.bind_role", PermissionDenied, "authorization", "ann may not"), "authorization: ann may not"},
		{E("engine.Check", Invalid, "", "no such permission"), "no such permission"},
		{fmt.Errorf("applying: %w", E("op", NotFound, "x", "gone")), "x: gone"},
		{errors.New("plain"), "plain"},
	} {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
