package engine

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// lookupIndex holds what lookups read besides the check path's data and
// the lists kept in nodes and resources.
type lookupIndex struct {
	nodeRank []int32   // position of each node in id order
	children [][]int32 // child nodes of each node
	// special counts, by type, the resources with grants of their own or
	// under a parent: while there are none, a lookup of a plain
	// permission reads only the subject's node grants.
	special []int
	key     []byte // signs cursors
}

// buildLookup indexes nodes and resources for lookups.
func (e *Engine) buildLookup() {
	li := &e.look
	e.orderNodes()
	li.special = make([]int, len(e.m.Resources))
	for i := range e.resList.v.n {
		r := e.resList.at(i)
		n := e.nodeList.at(r.node)
		if n.res == nil {
			n.res = make([][]int32, len(e.m.Resources))
		}
		n.res[r.typ.Index] = append(n.res[r.typ.Index], i)
		if e.special(i) {
			li.special[r.typ.Index]++
		}
	}
	for i := range e.nodeList.n {
		n := e.nodeList.at(i)
		if n.res == nil {
			continue
		}
		n.resIDs = make([][]string, len(n.res))
		for t, rs := range n.res {
			slices.SortFunc(rs, func(a, b int32) int { return cmp.Compare(e.resList.at(a).id, e.resList.at(b).id) })
			n.resIDs[t] = make([]string, len(rs))
			for k, r := range rs {
				n.resIDs[t][k] = e.resList.at(r).id
			}
		}
	}
	for u := range e.userList.v.n {
		ur := e.userList.at(u)
		for _, ng := range ur.nodes {
			nu := e.nodeUsers.at(ng.node)
			*nu = append(*nu, u)
		}
		for r := range ur.resGrant {
			res := e.resList.at(r)
			res.users = append(res.users, u)
		}
	}
	for r := range e.resList.v.n {
		slices.Sort(e.resList.at(r).users)
	}
	if li.key == nil {
		li.key = make([]byte, 32)
		rand.Read(li.key)
	}
}

// orderNodes ranks the nodes by id and lists each node's children in that
// order.
func (e *Engine) orderNodes() {
	li := &e.look
	var order []int32
	for i := range e.nodeList.n {
		if !e.nodeList.at(i).dead {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(e.nodeList.at(a).id, e.nodeList.at(b).id) })
	li.nodeRank = make([]int32, e.nodeList.len())
	for r, x := range order {
		li.nodeRank[x] = int32(r)
	}
	li.children = make([][]int32, e.nodeList.len())
	for _, x := range order {
		if p := e.nodeList.at(x).parent; p >= 0 {
			li.children[p] = append(li.children[p], x)
		}
	}
}

// special reports whether resource i has grants of its own or a parent
// (see lookupIndex.special).
func (e *Engine) special(i int32) bool {
	r := e.resList.at(i)
	return !r.dead && (len(r.bindings) > 0 || len(r.offers) > 0 || r.parent >= 0 || len(r.typ.Implicit) > 0)
}

// nodeRes returns the resources of type t whose home is node n.
func (e *Engine) nodeRes(t int, n int32) []int32 {
	if rs := e.nodeList.at(n).res; rs != nil {
		return rs[t]
	}
	return nil
}

// ResourceQuery asks which resources of a type a subject may act on.
type ResourceQuery struct {
	Subject    string
	Permission string // a permission or action id
	Type       string // a resource type
	In         string // optional: only resources at or below this scope node
	Context    map[string]any
	// SubjectAttrs overlay the subject's stored attributes, as in Request.
	SubjectAttrs map[string]any
	Page         rolecall.Page // Limit 0 returns every id
}

// LookupResources lists the ids of the resources of q.Type (inside q.In, if
// given) on which q.Subject may do q.Permission, ordered by home scope id
// and then id. The answer is complete: with a page limit, next is a cursor
// for the rest ("" on the last page), signed and tied to the query and the
// engine's revision; a cursor from another query, another revision or
// altered is refused. An action that needs an item cannot be looked up.
func (e *Engine) LookupResources(q ResourceQuery) (ids []string, next string, err error) {
	const op = "engine.LookupResources"
	u, ok := e.users.get(q.Subject)
	if !ok {
		return nil, "", notFound(op, q.Subject, "no such user")
	}
	rt, ok := e.m.Resource(q.Type)
	if !ok {
		return nil, "", notFound(op, q.Type, "no such resource type in model "+e.m.ID)
	}
	qu, err := e.question(op, q.Permission)
	if err != nil {
		return nil, "", err
	}
	if qu.act != nil {
		if err := e.applies(op, qu.act, q.Type, q.Type+" resources"); err != nil {
			return nil, "", err
		}
		if qu.act.NeedsItem {
			return nil, "", invalid(op, qu.act.ID, "the action needs an item, so it cannot be looked up by resource")
		}
	}
	var within int32 = -1
	if q.In != "" {
		n, ok := e.nodes[q.In]
		if !ok {
			return nil, "", notFound(op, q.In, "no such scope")
		}
		within = n
	}
	offset, err := e.readCursor(op, q.Page.After, lookupHash("resources", q.Subject, q.Permission, q.Type, q.In))
	if err != nil {
		return nil, "", err
	}
	var all []string
	if qu.perm != nil && !e.userSpan.at(u).cond && e.look.special[rt.Index] == 0 {
		all = e.coveredResources(u, qu.perm.Index, rt.Index, within)
	} else {
		res := e.scanResources(u, qu, rt.Index, within, q.Context, e.subjAttrs(q.SubjectAttrs))
		all = make([]string, len(res))
		for i, r := range res {
			all[i] = e.resList.at(r).id
		}
	}
	ids, more := pageOf(all, offset, q.Page.Limit)
	if more {
		next = e.cursor(lookupHash("resources", q.Subject, q.Permission, q.Type, q.In), offset+len(ids))
	}
	return ids, next, nil
}

// coveredResources answers a plain permission from the user's node grants:
// the ids of every resource under a topmost node where the user holds it,
// copied from the nodes' id lists.
func (e *Engine) coveredResources(u int32, p, t int, within int32) []string {
	sp := e.userSpan.at(u)
	word, bit := p>>6, uint64(1)<<(uint(p)&63)
	w := e.words
	var cover []int32
	for k, n := range sp.nodes {
		if sp.plain[k*w+word]&bit != 0 {
			cover = append(cover, n)
		}
	}
	// keep the topmost, and clip to `within`
	var tops []int32
	for _, n := range cover {
		covered := false
		for a := e.nodeParent[n]; a >= 0; a = e.nodeParent[a] {
			if _, in := slices.BinarySearch(cover, a); in {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		switch {
		case within < 0 || e.isBelowOrAt(n, within):
			tops = append(tops, n)
		case e.isBelowOrAt(within, n):
			tops = append(tops, within)
		}
	}
	var homes []int32
	var walk func(n int32)
	walk = func(n int32) {
		if len(e.nodeRes(t, n)) > 0 {
			homes = append(homes, n)
		}
		for _, c := range e.look.children[n] {
			walk(c)
		}
	}
	for _, n := range tops {
		walk(n)
	}
	slices.SortFunc(homes, func(a, b int32) int { return cmp.Compare(e.look.nodeRank[a], e.look.nodeRank[b]) })
	total := 0
	for _, h := range homes {
		total += len(e.nodeRes(t, h))
	}
	out := make([]string, 0, total)
	for _, h := range homes {
		out = append(out, e.nodeList.at(h).resIDs[t]...)
	}
	return out
}

// scanResources evaluates every resource of the type, in lookup order.
func (e *Engine) scanResources(u int32, q question, t int, within int32, ctx, subAttrs map[string]any) []int32 {
	var homes []int32
	for n := range e.nodeList.n {
		if len(e.nodeRes(t, n)) > 0 && (within < 0 || e.isBelowOrAt(int32(n), within)) {
			homes = append(homes, int32(n))
		}
	}
	slices.SortFunc(homes, func(a, b int32) int { return cmp.Compare(e.look.nodeRank[a], e.look.nodeRank[b]) })
	var out []int32
	for _, h := range homes {
		for _, r := range e.nodeRes(t, h) {
			o := obj{res: r, node: h, cold: e.resHot.at(r).parent < 0 && e.resHot.at(r).flags == 0}
			ev := evalCtx{e: e, u: u, ctx: ctx, target: o, item: obj{res: -1, node: -1}, subAttrs: subAttrs}
			if q.perm != nil && ev.leaf(q.perm, o) || q.act != nil && ev.action(q.act).Allowed {
				out = append(out, r)
			}
		}
	}
	return out
}

// SubjectQuery asks who may act on a target.
type SubjectQuery struct {
	Permission string // a permission or action id
	Target     rolecall.Target
	Groups     bool // also list the groups whose own bindings grant it
	Context    map[string]any
	// TargetAttrs overlay the target's stored attributes, as in Request.
	TargetAttrs map[string]any
	Page        rolecall.Page
}

// SubjectResult is one page of LookupSubjects: user ids in id order, and
// with Groups set, group ids in id order (on the first page).
type SubjectResult struct {
	Users  []string
	Groups []string
	Next   string
}

// LookupSubjects lists the users who may do q.Permission on q.Target (group
// members included, each user once), in id order, paged like
// LookupResources; with q.Groups, also the groups whose own bindings grant
// it.
func (e *Engine) LookupSubjects(q SubjectQuery) (SubjectResult, error) {
	const op = "engine.LookupSubjects"
	var out SubjectResult
	o, err := e.resolveTarget(op, &q.Target)
	if err != nil {
		return out, err
	}
	qu, err := e.question(op, q.Permission)
	if err != nil {
		return out, err
	}
	if qu.act != nil {
		if err := e.applies(op, qu.act, e.typeID(o), e.label(o)); err != nil {
			return out, err
		}
		if qu.act.NeedsItem {
			return out, invalid(op, qu.act.ID, "the action needs an item, so it cannot be looked up by subject")
		}
	}
	h := lookupHash("subjects", q.Permission, q.Target.String(), boolString(q.Groups))
	offset, err := e.readCursor(op, q.Page.After, h)
	if err != nil {
		return out, err
	}
	var users []int32
	stated := e.resAttrs(q.TargetAttrs)
	for _, u := range e.subjectCandidates(qu, o) {
		if e.userList.at(u).dead {
			continue
		}
		ev := evalCtx{e: e, u: u, ctx: q.Context, target: o, item: obj{res: -1, node: -1}, objAttrs: stated}
		if qu.perm != nil && ev.leaf(qu.perm, o) || qu.act != nil && ev.action(qu.act).Allowed {
			users = append(users, u)
		}
	}
	slices.SortFunc(users, func(a, b int32) int { return cmp.Compare(e.userList.at(a).id, e.userList.at(b).id) })
	page, more := pageOf(users, offset, q.Page.Limit)
	for _, u := range page {
		out.Users = append(out.Users, e.userList.at(u).id)
	}
	if more {
		out.Next = e.cursor(h, offset+len(page))
	}
	if q.Groups && offset == 0 && qu.perm != nil {
		out.Groups = e.groupsHolding(qu.perm, o)
	}
	return out, nil
}

// subjectCandidates returns the users who could hold a permission on o:
// those with grants on o's chain, its owner, the members of groups it is
// assigned to, and accepted offers' recipients. An action whose
// requirements reach other objects, or apply only under a condition, may
// be met by anyone, so every user is a candidate then.
func (e *Engine) subjectCandidates(q question, o obj) []int32 {
	if q.act != nil && !onTargetOnly(q.act.Requires) {
		all := make([]int32, e.userList.len())
		for i := range all {
			all[i] = int32(i)
		}
		return all
	}
	seen := map[int32]bool{}
	var out []int32
	add := func(us ...int32) {
		for _, u := range us {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	addRes := func(owner string, groups []int32, r int32) {
		if owner != "" {
			if u, ok := e.users.get(owner); ok {
				add(u)
			}
		}
		for _, g := range groups {
			add(e.groupList.at(g).members...)
		}
		if r >= 0 {
			add(e.resList.at(r).users...)
			for _, oi := range e.resList.at(r).offers {
				if u, ok := e.users.get(e.offers.at(oi).Offer.Recipient); ok {
					add(u)
				}
			}
		}
	}
	if o.prop != nil {
		addRes(o.prop.owner, o.prop.groups, -1)
	}
	start := o.res
	if o.prop != nil {
		start = o.prop.parent
	}
	for r := start; r >= 0; r = e.resList.at(r).parent {
		res := e.resList.at(r)
		addRes(res.owner, res.groups, r)
	}
	for n := o.node; n >= 0; n = e.nodeParent[n] {
		add(*e.nodeUsers.at(n)...)
	}
	return out
}

// onTargetOnly reports whether a requirement can be met only by grants on
// the target: every leaf is on the target, and no node is conditional (a
// conditional node is met by anyone where its condition is false).
func onTargetOnly(r *model.Req) bool {
	if r == nil {
		return true
	}
	if r.If != nil {
		return false
	}
	if r.Kind == model.ReqPerm {
		return r.Rel.IsTarget()
	}
	for _, k := range r.Kids {
		if !onTargetOnly(k) {
			return false
		}
	}
	return true
}

// groupsHolding lists, in id order, the groups whose own bindings on o's
// chain give p without conditions (role or direct permissions; a
// default-role binding depends on each member and is left out).
func (e *Engine) groupsHolding(p *model.Permission, o obj) []string {
	chain := map[int32]bool{}
	for n := o.node; n >= 0; n = e.nodeParent[n] {
		chain[n] = true
	}
	var out []string
	for i := range e.bindings.n {
		if e.bindings.at(i).dead {
			continue
		}
		b := &e.bindings.at(i).Binding
		if b.Subject.Kind != rolecall.SubjectGroup || b.DefaultRole || b.Resource != nil || !b.NotBefore.IsZero() || !b.NotAfter.IsZero() {
			continue
		}
		n, ok := e.nodes[b.Scope]
		if !ok || !chain[n] {
			continue
		}
		var set *model.GrantSet
		if len(b.Permissions) > 0 {
			var items []model.GrantItem
			for _, id := range b.Permissions {
				if q, ok := e.m.Perm(id); ok {
					items = append(items, model.GrantItem{Perm: q})
				}
			}
			set = model.BuildGrantSet(e.m, items, nil)
		} else if r := e.role(n, b.Role); r != nil {
			set = r.GrantsAt(e.nodeList.at(n).level.Index)
		}
		if set != nil && set.Plain.Has(p.Index) && !slices.Contains(out, b.Subject.ID) {
			out = append(out, b.Subject.ID)
		}
	}
	slices.Sort(out)
	return out
}

func pageOf[T any](all []T, offset, limit int) (page []T, more bool) {
	if offset > len(all) {
		offset = len(all)
	}
	rest := all[offset:]
	if limit <= 0 || limit >= len(rest) {
		return rest, false
	}
	return rest[:limit], true
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func lookupHash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// A cursor is the query's hash, the engine's revision and an offset,
// signed with the engine's key.
const cursorLen = 8 + 8 + 8 + 16

func (e *Engine) cursor(query uint64, offset int) string {
	b := make([]byte, 24, cursorLen)
	binary.BigEndian.PutUint64(b[0:], query)
	binary.BigEndian.PutUint64(b[8:], uint64(e.Revision))
	binary.BigEndian.PutUint64(b[16:], uint64(offset))
	mac := hmac.New(sha256.New, e.look.key)
	mac.Write(b)
	b = append(b, mac.Sum(nil)[:16]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Engine) readCursor(op, c string, query uint64) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != cursorLen {
		return 0, invalid(op, "cursor", "the cursor is not one this service issued; start again without it")
	}
	mac := hmac.New(sha256.New, e.look.key)
	mac.Write(b[:24])
	if !hmac.Equal(mac.Sum(nil)[:16], b[24:]) {
		return 0, invalid(op, "cursor", "the cursor was altered or issued by another service; start again without it")
	}
	if binary.BigEndian.Uint64(b[0:]) != query {
		return 0, invalid(op, "cursor", "the cursor belongs to another query; start again without it")
	}
	if rev := rolecall.Revision(binary.BigEndian.Uint64(b[8:])); rev != e.Revision {
		return 0, rolecall.E(op, rolecall.FailedPrecondition, "cursor", "the cursor belongs to revision "+itoa(uint64(rev))+" and the data is now at revision "+itoa(uint64(e.Revision))+"; start the listing again")
	}
	return int(binary.BigEndian.Uint64(b[16:])), nil
}

func itoa(v uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(buf[i:])
		}
	}
}
