package spec

import (
	"fmt"
	"strconv"
	"time"
)

// Var is one setting a function reads: the environment variable that carries it,
// how the stack's value is written into it, and how it is parsed into the typed field.
type Var[O any] struct {
	Name     string
	required bool
	value    func(Stack) string
	set      func(*O, string) error
}

// Required marks the variable as one the function cannot run without.
func (v Var[O]) Required() Var[O] { v.required = true; return v }

// String declares a text setting.
func String[O any](name string, value func(Stack) string, field func(*O) *string) Var[O] {
	return Var[O]{Name: name, value: value, set: func(o *O, raw string) error {
		*field(o) = raw
		return nil
	}}
}

// Int declares an integer setting of at least minimum.
func Int[O any](name string, minimum int, value func(Stack) int, field func(*O) *int) Var[O] {
	return Var[O]{Name: name, value: func(st Stack) string { return strconv.Itoa(value(st)) }, set: func(o *O, raw string) error {
		n, err := strconv.Atoi(raw)
		if err != nil || n < minimum {
			return fmt.Errorf("want an integer of at least %d", minimum)
		}
		*field(o) = n
		return nil
	}}
}

// Seconds declares a duration carried as whole seconds, of at least minimum.
func Seconds[O any](name string, minimum time.Duration, value func(Stack) time.Duration, field func(*O) *time.Duration) Var[O] {
	return Var[O]{Name: name, value: func(st Stack) string { return strconv.Itoa(int(value(st) / time.Second)) }, set: func(o *O, raw string) error {
		n, err := strconv.Atoi(raw)
		if err != nil || time.Duration(n)*time.Second < minimum {
			return fmt.Errorf("want a whole number of seconds, at least %d", int(minimum/time.Second))
		}
		*field(o) = time.Duration(n) * time.Second
		return nil
	}}
}

// Func declares a setting with its own parser, for fields a pointer cannot reach
// (a map entry) or values derived from the variable.
func Func[O any](name string, value func(Stack) string, set func(o *O, raw string) error) Var[O] {
	return Var[O]{Name: name, value: value, set: set}
}
