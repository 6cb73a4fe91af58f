package serving

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// InputError is a request the model cannot answer, naming the field.
type InputError struct {
	Field string
	Msg   string
	// TooLarge marks a batch over the row limit.
	TooLarge bool
	syntax   bool // malformed JSON: about the body, not a field
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Request is a decoded POST /predict body.
type Request struct {
	// Batch is true for {"instances": [...]}, false for one object of
	// named features.
	Batch bool
	Rows  int
	// X holds Rows × NumFeatures values, row-major.
	X []float64
}

// Scratch is per-request memory a caller reuses across requests.
type Scratch struct {
	X       []float64
	codes   []int32 // a tabular row's codes while it is read
	seen    []bool
	outputs []Output
}

// DecodePredict parses a /predict body without encoding/json: one object
// of named features, or {"instances": [...]} whose items are such objects
// or arrays of values in feature order. At most maxRows rows are accepted.
// X aliases sc.X, which grows as needed.
func (m *Model) DecodePredict(body []byte, maxRows int, sc *Scratch) (Request, error) {
	d := decoder{s: scanner{b: body}, m: m, sc: sc}
	if cap(sc.seen) < len(m.Features) {
		sc.seen = make([]bool, len(m.Features))
	}
	sc.seen = sc.seen[:len(m.Features)]
	sc.X = sc.X[:0]
	if m.enc != nil && cap(sc.codes) < m.enc.Codes() {
		sc.codes = make([]int32, m.enc.Codes())
	}
	req, err := d.top(maxRows)
	req.X = sc.X
	return req, err
}

type decoder struct {
	s  scanner
	m  *Model
	sc *Scratch
}

func (d *decoder) top(maxRows int) (Request, error) {
	s := &d.s
	s.ws()
	if s.i == len(s.b) {
		return Request{}, &InputError{Msg: "empty body: send a JSON object of named features, or {\"instances\": [...]}"}
	}
	if s.b[s.i] != '{' {
		return Request{}, &InputError{Msg: "body must be a JSON object, got " + kindName(s.b[s.i])}
	}
	start := s.i
	s.i++
	batch := false
	if s.peek() == '"' {
		key, err := s.key()
		if err != nil {
			return Request{}, err
		}
		batch = string(key) == "instances"
	}
	if !batch {
		s.i = start
		if err := d.objectRow(); err != nil {
			return Request{}, err
		}
		return Request{Rows: 1}, s.end()
	}
	if !s.expect(':') {
		return Request{}, s.syntax()
	}
	rows, err := d.instances(maxRows)
	if err != nil {
		return Request{}, err
	}
	if s.expect(',') {
		if s.peek() != '"' {
			return Request{}, s.syntax()
		}
		key, _, err := s.str()
		if err != nil {
			return Request{}, err
		}
		return Request{}, &InputError{Field: names.Clip(string(key)), Msg: "unknown field; a batch body has only \"instances\""}
	}
	if !s.expect('}') {
		return Request{}, s.syntax()
	}
	return Request{Batch: true, Rows: rows}, s.end()
}

func (d *decoder) instances(maxRows int) (int, error) {
	s := &d.s
	c := s.peek()
	if c != '[' {
		return 0, &InputError{Field: "instances", Msg: "expected an array, got " + kindName(c)}
	}
	s.i++
	if s.expect(']') {
		return 0, &InputError{Field: "instances", Msg: "empty: send at least one row"}
	}
	rows := 0
	for {
		if rows == maxRows {
			return 0, &InputError{Field: "instances", Msg: fmt.Sprintf("more than %d rows (PREDICTOR_MAX_BATCH); split the batch", maxRows), TooLarge: true}
		}
		var err error
		switch c := s.peek(); c {
		case '{':
			err = d.objectRow()
		case '[':
			err = d.arrayRow()
		default:
			err = &InputError{Msg: "expected an object of named features or an array of values, got " + kindName(c)}
		}
		if err != nil {
			// Only now is the row's name worth building.
			return 0, prefixField(err, "instances["+strconv.Itoa(rows)+"]")
		}
		rows++
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return rows, nil
		}
		return 0, s.syntax()
	}
}

// grow appends one row to sc.X and returns it; the caller sets every
// value.
func (d *decoder) grow() []float64 {
	f := d.m.width
	n := len(d.sc.X)
	d.sc.X = slices.Grow(d.sc.X, f)[:n+f]
	return d.sc.X[n:]
}

// objectRow reads {"feature": number, ...} at the scanner.
func (d *decoder) objectRow() error {
	s := &d.s
	row := d.grow()
	seen := d.sc.seen
	clear(seen)
	s.ws()
	err := s.members(func(key []byte) error {
		idx, ok := d.m.index[string(key)]
		if !ok {
			return &InputError{Field: names.Clip(string(key)), Msg: "unknown feature; the model expects " + strings.Join(d.m.Features, ", ")}
		}
		if seen[idx] {
			return &InputError{Field: names.Clip(string(key)), Msg: "given more than once"}
		}
		if d.m.enc != nil {
			if err := d.cell(idx, row); err != nil {
				return fieldError(err, string(key))
			}
			seen[idx] = true
			return nil
		}
		v, err := d.number()
		if err != nil {
			return fieldError(err, string(key))
		}
		row[idx] = v
		seen[idx] = true
		return nil
	})
	if err != nil {
		return err
	}
	return d.missing(row)
}

// missing ends an object row: an absent key is an error, or for a tabular
// model a missing value.
func (d *decoder) missing(row []float64) error {
	for i, ok := range d.sc.seen {
		switch {
		case ok:
		case d.m.enc != nil:
			d.m.enc.Missing(i, row, d.sc.codes)
		default:
			return &InputError{Field: d.m.Features[i], Msg: "missing"}
		}
	}
	d.pack(row)
	return nil
}

// arrayRow reads [number, ...] in feature order at the scanner.
func (d *decoder) arrayRow() error {
	s := &d.s
	row := d.grow()
	want := len(d.m.Features)
	s.ws()
	n := 0
	err := s.items(func(i int) error {
		if i == want {
			return &InputError{Msg: fmt.Sprintf("expected %d values (%s), got more", want, strings.Join(d.m.Features, ", "))}
		}
		if d.m.enc != nil {
			if err := d.cell(i, row); err != nil {
				return fieldError(err, "["+strconv.Itoa(i)+"]")
			}
			n = i + 1
			return nil
		}
		v, err := d.number()
		if err != nil {
			return fieldError(err, "["+strconv.Itoa(i)+"]")
		}
		row[i] = v
		n = i + 1
		return nil
	})
	if err != nil {
		return err
	}
	if n != want {
		return &InputError{Msg: fmt.Sprintf("expected %d values (%s), got %d", want, strings.Join(d.m.Features, ", "), n)}
	}
	d.pack(row)
	return nil
}

// fieldError names the field of a value error; the name is built only on
// this path, never for a good request.
func fieldError(err error, field string) error {
	if ie, ok := err.(*InputError); ok && !ie.syntax {
		ie.Field = field
	}
	return err
}

// prefixField puts a row's name before the field of an error inside it:
// "instances[3]" + "petal_width" or "[1]".
func prefixField(err error, row string) error {
	ie, ok := err.(*InputError)
	if !ok || ie.syntax {
		return err
	}
	switch {
	case ie.Field == "":
		ie.Field = row
	case strings.HasPrefix(ie.Field, "["):
		ie.Field = row + ie.Field
	default:
		ie.Field = row + "." + ie.Field
	}
	return err
}

// number reads a JSON number; its errors leave Field for the caller.
func (d *decoder) number() (float64, error) {
	s := &d.s
	c := s.peek()
	if c == 'N' || c == 'I' {
		return 0, &InputError{Msg: "NaN and Infinity are not numbers a model can use (nor valid JSON)"}
	}
	if c != '-' && (c < '0' || c > '9') {
		return 0, &InputError{Msg: "expected a number, got " + kindName(c)}
	}
	start := s.i
	if !s.scanNumber() {
		return 0, s.syntax()
	}
	raw := s.b[start:s.i]
	v, err := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
	if err != nil {
		return 0, &InputError{Msg: names.Clip(string(raw)) + " is out of range for float64"}
	}
	return v, nil
}

// scanner walks a JSON document; it checks syntax only where it reads.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return &InputError{Msg: fmt.Sprintf("malformed JSON: unexpected data after the object at byte %d", s.i)}
	}
	return nil
}

func (s *scanner) syntax() error {
	if s.i >= len(s.b) {
		return &InputError{Msg: "malformed JSON: unexpected end of body", syntax: true}
	}
	return &InputError{Msg: fmt.Sprintf("malformed JSON at byte %d: unexpected %q", s.i, s.b[s.i]), syntax: true}
}

// str reads a string at s.i (on its quote) and returns its raw bytes and
// whether they contain escapes. Every escape is checked, so that what it
// passes over is valid JSON: a string an answer echoes, or one skipped.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			switch {
			case s.i+1 == len(s.b):
				s.i++
			case s.b[s.i+1] == 'u' && len(s.b)-s.i >= 6 && hex4(s.b[s.i+2:s.i+6]):
				s.i += 6
			case strings.IndexByte(`"\\/bfnrt`, s.b[s.i+1]) >= 0:
				s.i += 2
			default:
				s.i++
				return nil, false, s.syntax()
			}
		case c < 0x20:
			return nil, false, s.syntax()
		default:
			s.i++
		}
	}
	return nil, false, &InputError{Msg: "malformed JSON: unterminated string", syntax: true}
}

// key reads an object key at s.i (on its quote), unescaped.
func (s *scanner) key() ([]byte, error) {
	raw, esc, err := s.str()
	if err != nil || !esc {
		return raw, err
	}
	var k string
	if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &k); err != nil {
		return nil, s.syntax()
	}
	return []byte(k), nil
}

// scanNumber advances over a JSON number and reports whether it was one.
func (s *scanner) scanNumber() bool {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	// number saw a '-' or a digit at i.
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

func kindName(c byte) string {
	switch c {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 0:
		return "the end of the body"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "invalid JSON"
}
