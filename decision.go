package rolecall

import (
	"fmt"
	"strings"
	"time"
)

// Decision is the answer to a check. Withheld lists the fields of the read
// object that the subject may not see although the read itself is allowed
// (sensitive properties). Explanation is set only when asked for.
type Decision struct {
	Allowed     bool         `json:"allowed"`
	Withheld    []string     `json:"withheld,omitempty"`
	Explanation *Explanation `json:"explanation,omitempty"`
}

// Explanation says why a check was allowed or denied. For an allow, Granted
// holds one Path per requirement met. For a denial, Missing holds each unmet
// requirement with what would satisfy it, and Failed the preconditions that
// did not hold whatever the subject's roles.
type Explanation struct {
	Subject  string         `json:"subject"`
	Request  string         `json:"request"` // the permission or action asked
	Target   string         `json:"target"`
	Allowed  bool           `json:"allowed"`
	Granted  []Path         `json:"granted,omitempty"`
	Missing  []Need         `json:"missing,omitempty"`
	Failed   []Precondition `json:"failed,omitempty"`
	Withheld []Withheld     `json:"withheld,omitempty"`
}

// Path is how one permission is held on one object: through a binding of a
// role or of direct permissions (possibly through a group, or through the
// member's default role), an implicit grant (group assignment, ownership), or
// an accepted offer; then an implication chain from the permission held to
// the one required; then the qualifiers that held.
type Path struct {
	Permission string    `json:"permission"` // the permission required
	On         string    `json:"on"`         // the object it was checked on
	Via        string    `json:"via"`        // "role", "direct", "implicit", "offer"
	Role       string    `json:"role,omitempty"`
	RoleFrom   string    `json:"role_from,omitempty"` // how a symbolic role was resolved
	Group      string    `json:"group,omitempty"`     // the group the grant came through
	At         string    `json:"at,omitempty"`        // where the binding sits
	Wildcard   bool      `json:"wildcard,omitempty"`
	Relation   string    `json:"relation,omitempty"` // implicit grants: the relation ("owner", "group member")
	Offer      string    `json:"offer,omitempty"`
	Chain      []string  `json:"chain,omitempty"` // permission held first, required last
	Qualifiers []string  `json:"qualifiers,omitempty"`
	Until      time.Time `json:"until,omitzero"`
}

// Need is one unmet requirement: any one of its alternatives would satisfy it.
type Need struct {
	AnyOf []Requirement `json:"any_of"`
}

// Requirement is one permission needed on one object, with what was found
// and what would grant it.
type Requirement struct {
	Permission string       `json:"permission"`
	On         string       `json:"on"`                   // the object ("source A/inbox")
	Scope      string       `json:"scope,omitempty"`      // its home scope node ("project A")
	Failed     []FailedPath `json:"failed,omitempty"`     // grants found whose condition did not hold
	ImpliedBy  []string     `json:"implied_by,omitempty"` // other permissions that include it
	Roles      []RoleOption `json:"roles,omitempty"`      // roles that include it, and where they could be bound
	DirectAt   []string     `json:"direct_at,omitempty"`  // where it or an implying permission could be granted directly
}

// FailedPath is a grant that would have given a permission but whose
// qualifier did not hold on the object.
type FailedPath struct {
	Path      Path   `json:"path"`
	Qualifier string `json:"qualifier"`
	Reason    string `json:"reason"`
}

// RoleOption is a role that includes a missing permission and the scope
// nodes on the object's chain where binding it would grant it.
type RoleOption struct {
	Role string   `json:"role"`
	Name string   `json:"name,omitempty"`
	At   []string `json:"at"`
	// Qualifiers are the conditions under which the role gives the
	// permission, if it gives it only under conditions.
	Qualifiers []string `json:"qualifiers,omitempty"`
}

// Precondition is a state condition of an action that did not hold, with the
// model's reason ("document D1 is locked by olga").
type Precondition struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Withheld is a field withheld from a read and the permission that would
// reveal it.
type Withheld struct {
	Field    string `json:"field"`
	Class    string `json:"class"`
	Requires string `json:"requires"`
	On       string `json:"on"`
}

// Effective is one permission a subject holds on a target, with every path
// through which it is held.
type Effective struct {
	Permission string `json:"permission"`
	Paths      []Path `json:"paths"`
}

// String describes the path in one line, e.g. "view_sources on source
// A/inbox: role viewer at project A (via group g1), sources_admin ⇒
// view_sensitive_data ⇒ view_sources".
func (p Path) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s: ", p.Permission, p.On)
	switch p.Via {
	case "role":
		fmt.Fprintf(&b, "role %s", p.Role)
		if p.RoleFrom != "" {
			fmt.Fprintf(&b, " (%s)", p.RoleFrom)
		}
		b.WriteString(" at ")
		b.WriteString(p.atString())
	case "direct":
		b.WriteString("granted directly at ")
		b.WriteString(p.atString())
	case "implicit":
		fmt.Fprintf(&b, "implicit grant to the %s", p.Relation)
	case "offer":
		fmt.Fprintf(&b, "accepted offer %s", p.Offer)
	}
	if p.Group != "" {
		fmt.Fprintf(&b, " via group %s", p.Group)
	}
	if len(p.Chain) > 1 {
		fmt.Fprintf(&b, ", %s", strings.Join(p.Chain, " ⇒ "))
	}
	if len(p.Qualifiers) > 0 {
		fmt.Fprintf(&b, ", where %s", strings.Join(p.Qualifiers, " and "))
	}
	if !p.Until.IsZero() {
		fmt.Fprintf(&b, ", granted until %s", p.Until.Format("2006-01-02"))
	}
	return b.String()
}

func (p Path) atString() string {
	if p.Wildcard {
		return "* (" + p.At + ")"
	}
	return p.At
}

// String renders the explanation as text, one fact per line: the verdict,
// then the paths that granted access, or what is missing and what would
// grant it.
func (e *Explanation) String() string {
	var b strings.Builder
	verdict := "DENIED"
	if e.Allowed {
		verdict = "ALLOWED"
	}
	fmt.Fprintf(&b, "%s: %s %s on %s\n", verdict, e.Subject, e.Request, e.Target)
	for _, p := range e.Granted {
		fmt.Fprintf(&b, "  granted: %s\n", p)
	}
	for _, f := range e.Failed {
		fmt.Fprintf(&b, "  precondition %s failed: %s\n", f.ID, f.Reason)
	}
	for _, n := range e.Missing {
		for i, r := range n.AnyOf {
			lead := "  missing: "
			if i > 0 {
				lead = "    or: "
			}
			fmt.Fprintf(&b, "%s%s on %s", lead, r.Permission, r.On)
			if r.Scope != "" && r.Scope != r.On {
				fmt.Fprintf(&b, " (in %s)", r.Scope)
			}
			b.WriteString("\n")
			for _, f := range r.Failed {
				fmt.Fprintf(&b, "      held as %s, but %s did not hold: %s\n", f.Path, f.Qualifier, f.Reason)
			}
			if len(r.ImpliedBy) > 0 {
				fmt.Fprintf(&b, "      also granted by %s\n", strings.Join(r.ImpliedBy, ", "))
			}
			if len(r.DirectAt) > 0 {
				alts := append([]string{r.Permission}, r.ImpliedBy...)
				fmt.Fprintf(&b, "      grant %s directly at %s\n", strings.Join(alts, " or "), strings.Join(r.DirectAt, " or "))
			}
			for _, o := range r.Roles {
				name := o.Role
				if o.Name != "" && o.Name != o.Role {
					name += " (" + o.Name + ")"
				}
				cond := ""
				if len(o.Qualifiers) > 0 {
					cond = " where " + strings.Join(o.Qualifiers, " and ")
				}
				fmt.Fprintf(&b, "      role %s would grant it%s, bound at %s\n", name, cond, strings.Join(o.At, " or "))
			}
		}
	}
	for _, w := range e.Withheld {
		fmt.Fprintf(&b, "  withheld field %s (%s): needs %s on %s\n", w.Field, w.Class, w.Requires, w.On)
	}
	return b.String()
}
