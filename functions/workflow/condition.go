package workflow

import (
	"fmt"
	"strings"
)

// Op is a Choice comparison operator. Operators ending in "Path" compare against the
// value at another path instead of a literal.
type Op string

// The comparison operators of the States Language.
const (
	StringEquals                   Op = "StringEquals"
	StringEqualsPath               Op = "StringEqualsPath"
	StringLessThan                 Op = "StringLessThan"
	StringLessThanPath             Op = "StringLessThanPath"
	StringGreaterThan              Op = "StringGreaterThan"
	StringGreaterThanPath          Op = "StringGreaterThanPath"
	StringLessThanEquals           Op = "StringLessThanEquals"
	StringLessThanEqualsPath       Op = "StringLessThanEqualsPath"
	StringGreaterThanEquals        Op = "StringGreaterThanEquals"
	StringGreaterThanEqualsPath    Op = "StringGreaterThanEqualsPath"
	NumericEquals                  Op = "NumericEquals"
	NumericEqualsPath              Op = "NumericEqualsPath"
	NumericLessThan                Op = "NumericLessThan"
	NumericLessThanPath            Op = "NumericLessThanPath"
	NumericGreaterThan             Op = "NumericGreaterThan"
	NumericGreaterThanPath         Op = "NumericGreaterThanPath"
	NumericLessThanEquals          Op = "NumericLessThanEquals"
	NumericLessThanEqualsPath      Op = "NumericLessThanEqualsPath"
	NumericGreaterThanEquals       Op = "NumericGreaterThanEquals"
	NumericGreaterThanEqualsPath   Op = "NumericGreaterThanEqualsPath"
	TimestampEquals                Op = "TimestampEquals"
	TimestampEqualsPath            Op = "TimestampEqualsPath"
	TimestampLessThan              Op = "TimestampLessThan"
	TimestampLessThanPath          Op = "TimestampLessThanPath"
	TimestampGreaterThan           Op = "TimestampGreaterThan"
	TimestampGreaterThanPath       Op = "TimestampGreaterThanPath"
	TimestampLessThanEquals        Op = "TimestampLessThanEquals"
	TimestampLessThanEqualsPath    Op = "TimestampLessThanEqualsPath"
	TimestampGreaterThanEquals     Op = "TimestampGreaterThanEquals"
	TimestampGreaterThanEqualsPath Op = "TimestampGreaterThanEqualsPath"
	StringMatches                  Op = "StringMatches"
	BooleanEquals                  Op = "BooleanEquals"
	BooleanEqualsPath              Op = "BooleanEqualsPath"
	IsPresent                      Op = "IsPresent"
	IsNull                         Op = "IsNull"
	IsNumeric                      Op = "IsNumeric"
	IsString                       Op = "IsString"
	IsBoolean                      Op = "IsBoolean"
	IsTimestamp                    Op = "IsTimestamp"
)

// Condition is a Choice condition: a comparison of Variable, or And/Or/Not of others.
type Condition struct {
	variable string
	op       Op
	value    any
	and, or  []Condition
	not      *Condition
}

// Compare tests the value at variable with op against value (a literal, or a path
// for the ...Path operators).
func Compare(variable string, op Op, value any) Condition {
	return Condition{variable: variable, op: op, value: value}
}

// Present is true when variable exists (the guard before reading an optional path).
func Present(variable string) Condition { return Compare(variable, IsPresent, true) }

// And is true when every condition is.
func And(cs ...Condition) Condition { return Condition{and: cs} }

// Or is true when any condition is.
func Or(cs ...Condition) Condition { return Condition{or: cs} }

// Not negates c.
func Not(c Condition) Condition { return Condition{not: &c} }

// fields renders the condition as an ASL object.
func (c Condition) fields() map[string]any {
	switch {
	case c.and != nil:
		return map[string]any{"And": c.nested(c.and)}
	case c.or != nil:
		return map[string]any{"Or": c.nested(c.or)}
	case c.not != nil:
		return map[string]any{"Not": c.not.fields()}
	}
	return map[string]any{"Variable": c.variable, string(c.op): c.value}
}

func (c Condition) nested(cs []Condition) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, x := range cs {
		out[i] = x.fields()
	}
	return out
}

// String is a short human form for the diagram.
func (c Condition) String() string {
	switch {
	case c.and != nil:
		return c.join(c.and, " and ")
	case c.or != nil:
		return c.join(c.or, " or ")
	case c.not != nil:
		return "not " + c.not.String()
	}
	v := c.variable[strings.LastIndexAny(c.variable, ".")+1:]
	if c.op == IsPresent {
		return v + " present"
	}
	return fmt.Sprintf("%s %s %v", v, c.op, c.value)
}

func (c Condition) join(cs []Condition, sep string) string {
	parts := make([]string, len(cs))
	for i, x := range cs {
		parts[i] = x.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// check reports malformed conditions: empty And/Or, a missing variable path, a
// ...Path operator without a path.
func (c Condition) check() error {
	switch {
	case c.and != nil || c.or != nil:
		list := c.and
		if c.or != nil {
			list = c.or
		}
		if len(list) == 0 {
			return fmt.Errorf("empty And/Or")
		}
		for _, x := range list {
			if err := x.check(); err != nil {
				return err
			}
		}
		return nil
	case c.not != nil:
		return c.not.check()
	}
	if !isPath(c.variable) {
		return fmt.Errorf("variable %q is not a path", c.variable)
	}
	if strings.HasSuffix(string(c.op), "Path") {
		if s, ok := c.value.(string); !ok || !isPath(s) {
			return fmt.Errorf("%s needs a path, got %v", c.op, c.value)
		}
	}
	if c.op == "" {
		return fmt.Errorf("condition on %s has no operator", c.variable)
	}
	return nil
}
