package runfilter

import (
	"strconv"
	"strings"
)

// Entity is what an identifier names: a metric, a parameter, a tag or
// an attribute of the run.
type Entity int

// The entities, named as MLflow names them.
const (
	Metric Entity = iota
	Param
	Tag
	Attribute
)

func (e Entity) String() string {
	return [...]string{"metrics", "params", "tags", "attributes"}[e]
}

// entity returns the entity of every prefix MLflow accepts.
func entity(prefix string) (Entity, bool) {
	switch strings.ToLower(prefix) {
	case "metric", "metrics":
		return Metric, true
	case "param", "params", "parameter", "parameters":
		return Param, true
	case "tag", "tags":
		return Tag, true
	case "attribute", "attributes", "attr", "run":
		return Attribute, true
	}
	return 0, false
}

// Field is an identifier: an entity and a key, and where it starts.
type Field struct {
	Entity Entity
	Key    string
	Pos    int
}

func (f Field) String() string {
	if isPlainName(f.Key) {
		return f.Entity.String() + "." + f.Key
	}
	return f.Entity.String() + ".`" + strings.ReplaceAll(f.Key, "`", "``") + "`"
}

func isPlainName(s string) bool {
	if s == "" || !isWordStart(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

// Op is a comparator.
type Op string

// The comparators.
const (
	Eq    Op = "="
	Ne    Op = "!="
	Lt    Op = "<"
	Le    Op = "<="
	Gt    Op = ">"
	Ge    Op = ">="
	Like  Op = "LIKE"
	ILike Op = "ILIKE"
	In    Op = "IN"
	NotIn Op = "NOT IN"
)

// Literal is a constant: a quoted string or a number.
type Literal struct {
	Str   string
	Num   float64
	IsNum bool
	Pos   int
}

// Cond is one condition.
type Cond struct {
	Field  Field
	Op     Op
	Values []Literal // one, or the list of IN
}

// Filter is conditions that all hold; the zero Filter matches every run.
type Filter struct {
	Conds []Cond
}

// OrderKey is one key of an order.
type OrderKey struct {
	Field Field
	Desc  bool
}

const comparators = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN"

// parser is a recursive-descent parser over the tokens of one text.
type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(t token, word string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, word)
}

// Parse parses a filter: cond { AND cond }. Empty or blank text is the
// filter that matches every run.
//
//	filter     = [ cond { "AND" cond } ] EOF
//	cond       = identifier comparator value
//	           | identifier [ "NOT" ] "IN" "(" value { "," value } ")"
//	identifier = entity "." ( word | `quoted` | "quoted" )
//	value      = 'string' | "string" | number
func Parse(s string) (Filter, error) {
	toks, err := lex(s)
	if err != nil {
		return Filter{}, err
	}
	p := &parser{toks: toks}
	var f Filter
	if p.peek().kind == tokEOF {
		return f, nil
	}
	for {
		c, err := p.cond()
		if err != nil {
			return Filter{}, err
		}
		f.Conds = append(f.Conds, c)
		t := p.next()
		switch {
		case t.kind == tokEOF:
			return f, nil
		case p.keyword(t, "and"):
			continue
		case p.keyword(t, "or"):
			return Filter{}, errAt(t.pos, "OR is not supported: conditions are joined by AND (run two searches for either)")
		}
		return Filter{}, errAt(t.pos, "expected AND or the end of the filter, got %s", t.describe())
	}
}

func (p *parser) cond() (Cond, error) {
	field, err := p.identifier()
	if err != nil {
		return Cond{}, err
	}
	t := p.next()
	var op Op
	switch {
	case t.kind == tokOp:
		op = Op(t.text)
	case p.keyword(t, "like"):
		op = Like
	case p.keyword(t, "ilike"):
		op = ILike
	case p.keyword(t, "in"):
		op = In
	case p.keyword(t, "not"):
		if n := p.next(); !p.keyword(n, "in") {
			return Cond{}, errAt(n.pos, "expected IN after NOT, got %s", n.describe())
		}
		op = NotIn
	default:
		return Cond{}, errAt(t.pos, "expected a comparator (%s) after %s, got %s", comparators, field, t.describe())
	}
	if op == In || op == NotIn {
		values, err := p.list()
		if err != nil {
			return Cond{}, err
		}
		return Cond{Field: field, Op: op, Values: values}, nil
	}
	v, err := p.value()
	if err != nil {
		return Cond{}, err
	}
	return Cond{Field: field, Op: op, Values: []Literal{v}}, nil
}

// identifier reads entity "." name.
func (p *parser) identifier() (Field, error) {
	t := p.next()
	if t.kind != tokWord {
		return Field{}, errAt(t.pos, "expected an identifier like metrics.accuracy, params.c, tags.team or attributes.status, got %s", t.describe())
	}
	e, ok := entity(t.text)
	if !ok {
		return Field{}, errAt(t.pos, "expected an identifier starting metrics., params., tags. or attributes., got %q", t.text)
	}
	if d := p.next(); d.kind != tokDot {
		return Field{}, errAt(d.pos, "expected \".\" and a name after %q (as in %s.name), got %s", t.text, e, d.describe())
	}
	n := p.next()
	if n.kind != tokWord && n.kind != tokQuotedName {
		return Field{}, errAt(n.pos, "expected a name after %q (quote names that are not plain words: %s.`my name`), got %s", t.text+".", e, n.describe())
	}
	if n.text == "" {
		return Field{}, errAt(n.pos, "expected a name after %q, got an empty one", t.text+".")
	}
	return Field{Entity: e, Key: n.text, Pos: t.pos}, nil
}

// value reads a quoted string or a number.
func (p *parser) value() (Literal, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return Literal{Str: t.text, Pos: t.pos}, nil
	case tokNumber:
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return Literal{}, errAt(t.pos, "the number %s is out of range", t.text)
		}
		return Literal{Str: t.text, Num: v, IsNum: true, Pos: t.pos}, nil
	case tokWord:
		return Literal{}, errAt(t.pos, "expected a value (a number, or a string in quotes: '%s'), got %s", t.text, t.describe())
	}
	return Literal{}, errAt(t.pos, "expected a value (a number, or a string in quotes), got %s", t.describe())
}

// list reads "(" value { "," value } ")".
func (p *parser) list() ([]Literal, error) {
	if t := p.next(); t.kind != tokLParen {
		return nil, errAt(t.pos, "expected \"(\" opening the list of IN, as in IN ('a', 'b'), got %s", t.describe())
	}
	var out []Literal
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		t := p.next()
		switch t.kind {
		case tokComma:
			continue
		case tokRParen:
			return out, nil
		}
		return nil, errAt(t.pos, "expected \",\" or \")\" in the list of IN, got %s", t.describe())
	}
}

// ParseOrderBy parses an order: key { "," key }, each an identifier
// with an optional ASC (the default) or DESC.
func ParseOrderBy(s string) ([]OrderKey, error) {
	var out []OrderKey
	err := parseList(s, "ASC, DESC, \",\" or the end of the order", func(p *parser) (Field, error) {
		f, err := p.identifier()
		if err != nil {
			return Field{}, err
		}
		k := OrderKey{Field: f}
		switch t := p.peek(); {
		case p.keyword(t, "asc"):
			p.next()
		case p.keyword(t, "desc"):
			k.Desc = true
			p.next()
		}
		out = append(out, k)
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseFields parses a list of identifiers, comma-separated: the
// columns of an export.
func ParseFields(s string) ([]Field, error) {
	var out []Field
	err := parseList(s, "\",\" or the end of the columns", func(p *parser) (Field, error) {
		f, err := p.identifier()
		out = append(out, f)
		return f, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseList parses item { "," item }: empty text is no items; after an
// item anything but a comma or the end is an error saying expected.
func parseList(s, expected string, item func(p *parser) (Field, error)) error {
	toks, err := lex(s)
	if err != nil {
		return err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil
	}
	for {
		f, err := item(p)
		if err != nil {
			return err
		}
		switch t := p.next(); t.kind {
		case tokComma:
			continue
		case tokEOF:
			return nil
		default:
			return errAt(t.pos, "expected %s after %s, got %s", expected, f, t.describe())
		}
	}
}

// String prints f in canonical form: entities by their plural names,
// names quoted with backticks when they are not plain words, strings in
// single quotes.
func (f Filter) String() string {
	var b strings.Builder
	for i, c := range f.Conds {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(c.Field.String())
		b.WriteString(" " + string(c.Op) + " ")
		if c.Op == In || c.Op == NotIn {
			b.WriteString("(")
		}
		for j, v := range c.Values {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
		if c.Op == In || c.Op == NotIn {
			b.WriteString(")")
		}
	}
	return b.String()
}

// String prints a literal as the filter language writes it.
func (l Literal) String() string {
	if l.IsNum {
		return l.Str
	}
	return "'" + strings.ReplaceAll(l.Str, "'", "''") + "'"
}
