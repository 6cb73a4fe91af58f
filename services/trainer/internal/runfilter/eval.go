package runfilter

import (
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

// Compare orders a and b by keys: each key's values ascending (or
// descending), a run without a value after every run with one. It
// returns -1, 0 or 1; 0 leaves the caller's own tie-break.
func Compare(keys []OrderKey, a, b Record) int {
	for _, k := range keys {
		va, oka := a.Value(k.Field)
		vb, okb := b.Value(k.Field)
		switch {
		case !oka && !okb:
			continue
		case !oka:
			return 1
		case !okb:
			return -1
		}
		c := compareValues(va, vb)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
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
