package runfilter

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Value is a field's value in one run.
type Value struct {
	Str   string
	Num   float64
	IsNum bool
}

// Record is one run as a filter sees it.
type Record interface {
	// Value returns f's value; false when the run has none (a metric
	// of a run that did not finish, a tag not set): such a run matches
	// no condition on f and sorts last.
	Value(f Field) (Value, bool)
}

// Match reports whether r meets every condition of f. f must have
// passed Check.
func (f Filter) Match(r Record) bool {
	for _, c := range f.Conds {
		v, ok := r.Value(c.Field)
		if !ok || !c.holds(v) {
			return false
		}
	}
	return true
}

func (c Cond) holds(v Value) bool {
	lit := c.Values[0]
	if v.IsNum {
		switch c.Op {
		case Eq:
			return v.Num == lit.Num
		case Ne:
			return v.Num != lit.Num
		case Lt:
			return v.Num < lit.Num
		case Le:
			return v.Num <= lit.Num
		case Gt:
			return v.Num > lit.Num
		case Ge:
			return v.Num >= lit.Num
		}
		return false
	}
	switch c.Op {
	case Eq:
		return v.Str == lit.Str
	case Ne:
		return v.Str != lit.Str
	case Like:
		return like(v.Str, lit.Str, false)
	case ILike:
		return like(v.Str, lit.Str, true)
	case In, NotIn:
		in := false
		for _, l := range c.Values {
			if v.Str == l.Str {
				in = true
				break
			}
		}
		return in == (c.Op == In)
	}
	return false
}

// like matches s against a SQL LIKE pattern: % is any run of
// characters, _ any one character. It backtracks only to the last %,
// so it takes at most len(s)·len(pattern) steps.
func like(s, pattern string, fold bool) bool {
	if fold {
		s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	}
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			switch pattern[pi] {
			case '%':
				star, mark = pi, si
				pi++
				continue
			case '_':
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			default:
				if pattern[pi] == s[si] {
					si++
					pi++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		si, pi = mark, star+1
	}
	for pi < len(pattern) && pattern[pi] == '%' {
		pi++
	}
	return pi == len(pattern)
}

func compareValues(a, b Value) int {
	if a.IsNum && b.IsNum {
		switch {
		case a.Num < b.Num:
			return -1
		case a.Num > b.Num:
			return 1
		}
		return 0
	}
	return strings.Compare(a.Str, b.Str)
}

// Sort sorts items by keys: each key's values ascending (or
// descending), an item without a value after every item with one; ties
// by tie. It reads each item's values once, not once per comparison.
func Sort[T Record](keys []OrderKey, items []T, tie func(a, b T) int) {
	type decorated struct {
		item T
		vals []Value
		ok   []bool
	}
	d := make([]decorated, len(items))
	vals := make([]Value, len(items)*len(keys))
	oks := make([]bool, len(items)*len(keys))
	for i, it := range items {
		d[i] = decorated{item: it, vals: vals[i*len(keys) : (i+1)*len(keys)], ok: oks[i*len(keys) : (i+1)*len(keys)]}
		for j, k := range keys {
			d[i].vals[j], d[i].ok[j] = it.Value(k.Field)
		}
	}
	slices.SortFunc(d, func(a, b decorated) int {
		for j, k := range keys {
			switch {
			case !a.ok[j] && !b.ok[j]:
				continue
			case !a.ok[j]:
				return 1
			case !b.ok[j]:
				return -1
			}
			c := compareValues(a.vals[j], b.vals[j])
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return tie(a.item, b.item)
	})
	for i := range d {
		items[i] = d[i].item
	}
}
