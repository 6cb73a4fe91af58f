package runfilter

import (
	"slices"
	"strings"
)

// Kind is the type of a field's values.
type Kind int

// The kinds: numbers compare as numbers, strings as text.
const (
	String Kind = iota
	Number
)

// Schema says what a filter may name: metrics are numbers, params and
// tags strings, and attributes whatever Attributes says.
type Schema struct {
	// Metrics and Params list the known names; nil allows any.
	Metrics []string
	Params  []string
	// Attributes are the known attributes and their kinds.
	Attributes map[string]Kind
}

// kind returns the kind of f, or an error naming what is known.
func (s Schema) kind(f Field) (Kind, error) {
	switch f.Entity {
	case Metric:
		if s.Metrics != nil && !slices.Contains(s.Metrics, f.Key) {
			return 0, errAt(f.Pos, "unknown metric %q: runs have %s", f.Key, strings.Join(s.Metrics, ", "))
		}
		return Number, nil
	case Param:
		if s.Params != nil && !slices.Contains(s.Params, f.Key) {
			return 0, errAt(f.Pos, "unknown parameter %q: runs have %s", f.Key, strings.Join(s.Params, ", "))
		}
		return String, nil
	case Attribute:
		k, ok := s.Attributes[f.Key]
		if !ok {
			names := make([]string, 0, len(s.Attributes))
			for n := range s.Attributes {
				names = append(names, n)
			}
			slices.Sort(names)
			return 0, errAt(f.Pos, "unknown attribute %q: runs have %s", f.Key, strings.Join(names, ", "))
		}
		return k, nil
	}
	return String, nil
}

// Check type-checks f against s, as MLflow does: numeric fields take
// unquoted numbers and the six comparisons; string fields take quoted
// strings and =, !=, LIKE, ILIKE, IN and NOT IN.
func (f Filter) Check(s Schema) error {
	for _, c := range f.Conds {
		k, err := s.kind(c.Field)
		if err != nil {
			return err
		}
		for _, v := range c.Values {
			switch {
			case k == Number && !v.IsNum:
				return errAt(v.Pos, "%s is a number: compare it with a number, without quotes", c.Field)
			case k == String && v.IsNum:
				return errAt(v.Pos, "%s is a string: quote the value, as in %s = '%s'", c.Field, c.Field, v.Str)
			}
		}
		switch {
		case k == Number && (c.Op == Like || c.Op == ILike || c.Op == In || c.Op == NotIn):
			return errAt(c.Field.Pos, "%s is a number: compare it with =, !=, <, <=, > or >=, not %s", c.Field, c.Op)
		case k == String && (c.Op == Lt || c.Op == Le || c.Op == Gt || c.Op == Ge):
			return errAt(c.Field.Pos, "%s is a string: compare it with =, !=, LIKE, ILIKE, IN or NOT IN, not %s", c.Field, c.Op)
		}
	}
	return nil
}

// CheckOrder checks that every key of an order names a known field.
func CheckOrder(keys []OrderKey, s Schema) error {
	for _, k := range keys {
		if _, err := s.kind(k.Field); err != nil {
			return err
		}
	}
	return nil
}
