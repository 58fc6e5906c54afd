package condition

import (
	"time"
	"unsafe"

	"cel.dev/cel-go/common/types"
)

// CEL values reach the interpreter as interfaces, and Go copies a string, a
// time or any other value wider than a pointer (or an integer above 255) to
// the heap to put it in an interface. So that evaluating a condition does not
// allocate, the field getters build those interfaces around memory that
// already exists, with the helpers below: around the value in the interface
// Attr returned, which Go already copied and nobody can change, or around a
// slot of the activation (see activation.str).
//
// An interface is two words: its dynamic type and, for the types here, a
// pointer to its value. The CEL types String, Int, Double, Bool and Timestamp
// have the memory layout of string, int64, float64, bool and time.Time, so
// an interface holding one can be turned into one holding the other by
// swapping the type word.

// eface is the layout of an interface value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// The type words of the CEL types the getters build.
var (
	celString    = typeWord(types.String(""))
	celInt       = typeWord(types.Int(0))
	celDouble    = typeWord(types.Double(0))
	celBool      = typeWord(types.Bool(false))
	celTimestamp = typeWord(types.Timestamp{})
)

// retype returns an interface of type typ holding the value v holds, which
// must have typ's memory layout, without copying it.
func retype(v any, typ unsafe.Pointer) any {
	e := (*eface)(unsafe.Pointer(&v))
	return *(*any)(unsafe.Pointer(&eface{typ: typ, data: e.data}))
}

// boxedAt returns an interface holding the CEL string *p without copying
// it. The interface is valid while *p is neither changed nor freed.
func boxedAt(p *types.String) any {
	return *(*any)(unsafe.Pointer(&eface{typ: celString, data: unsafe.Pointer(p)}))
}

// boxInPlace records that retype and boxedAt work with this Go runtime's
// layout of interfaces; should they ever not, the getters box values the
// ordinary way.
var boxInPlace = func() bool {
	when := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	s := types.String("probe")
	return boxedAt(&s) == any(s) &&
		retype("probe", celString) == any(types.String("probe")) &&
		retype(int64(1000), celInt) == any(types.Int(1000)) &&
		retype(0.5, celDouble) == any(types.Double(0.5)) &&
		retype(true, celBool) == any(types.True) &&
		retype(when, celTimestamp).(types.Timestamp).Equal(types.Timestamp{Time: when}) == types.True
}()
