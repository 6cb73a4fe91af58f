// Package runfilter is the trainer's run search language: MLflow's
// search syntax for runs, the subset that matters. A filter is
// conditions joined by AND, each an identifier, a comparator and a
// constant:
//
//	metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud'
//	attributes.status IN ('failed', 'cancelled')
//	tags.`owner email` LIKE '%@example.com'
//
// An order is identifiers with ASC or DESC, comma-separated. A small
// lexer and a recursive-descent parser turn text into a Filter; errors
// say where (a 1-based column) and what was expected. Check types a
// parsed filter against a Schema (metrics are numbers, params and tags
// strings, attributes as the schema says), and Match and Less evaluate
// it over any Record.
package runfilter

import (
	"fmt"
	"strings"
)

// tokenKind is a lexical class.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokQuotedName // `a name` or "a name" after a dot
	tokString     // 'text' or "text"
	tokNumber
	tokDot
	tokComma
	tokLParen
	tokRParen
	tokOp // = != <> < <= > >=
)

// token is one lexeme and where it starts (byte offset).
type token struct {
	kind tokenKind
	text string // the word, operator, number text, or unquoted string
	pos  int
	// quote is the quote character of a string or quoted name.
	quote byte
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end of the filter"
	case tokString:
		return fmt.Sprintf("the string %c%s%c", t.quote, t.text, t.quote)
	case tokQuotedName:
		return fmt.Sprintf("the name %c%s%c", t.quote, t.text, t.quote)
	}
	return fmt.Sprintf("%q", t.text)
}

// Error is a filter or order that does not parse or type-check: Pos is
// the 1-based column where the problem is.
type Error struct {
	Pos     int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("at column %d: %s", e.Pos, e.Message) }

func errAt(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos + 1, Message: fmt.Sprintf(format, args...)}
}

// MaxLength bounds a filter or order, in bytes.
const MaxLength = 4096

// lex splits s into tokens, ending with tokEOF.
func lex(s string) ([]token, error) {
	if len(s) > MaxLength {
		return nil, errAt(MaxLength, "the filter is %d bytes long, at most %d are allowed", len(s), MaxLength)
	}
	var out []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return append(out, token{kind: tokEOF, pos: i}), nil
		}
		c := s[i]
		start := i
		switch {
		case isWordStart(c):
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			out = append(out, token{kind: tokWord, text: s[start:i], pos: start})
		case isDigit(c) || ((c == '-' || c == '+' || c == '.') && i+1 < len(s) && (isDigit(s[i+1]) || s[i+1] == '.' && c != '.')):
			end, ok := scanNumber(s, i)
			if !ok {
				return nil, errAt(start, "expected a number, got %q", s[start:end])
			}
			i = end
			out = append(out, token{kind: tokNumber, text: s[start:i], pos: start})
		case c == '\'' || c == '"' || c == '`':
			text, end, ok := scanQuoted(s, i)
			if !ok {
				return nil, errAt(start, "the text opened by %c here is never closed: end it with %c", c, c)
			}
			i = end
			kind := tokString
			if c == '`' || (c == '"' && len(out) > 0 && out[len(out)-1].kind == tokDot) {
				kind = tokQuotedName
			}
			out = append(out, token{kind: kind, text: text, pos: start, quote: c})
		case c == '.':
			i++
			out = append(out, token{kind: tokDot, text: ".", pos: start})
		case c == ',':
			i++
			out = append(out, token{kind: tokComma, text: ",", pos: start})
		case c == '(':
			i++
			out = append(out, token{kind: tokLParen, text: "(", pos: start})
		case c == ')':
			i++
			out = append(out, token{kind: tokRParen, text: ")", pos: start})
		case c == '=':
			i++
			if i < len(s) && s[i] == '=' {
				i++ // == is accepted as =
			}
			out = append(out, token{kind: tokOp, text: "=", pos: start})
		case c == '!' || c == '<' || c == '>':
			i++
			op := string(c)
			if i < len(s) && (s[i] == '=' || (c == '<' && s[i] == '>')) {
				op += string(s[i])
				i++
			}
			switch op {
			case "!":
				return nil, errAt(start, "expected a comparator, got \"!\": not equal is !=")
			case "<>":
				op = "!="
			}
			out = append(out, token{kind: tokOp, text: op, pos: start})
		default:
			r := []rune(s[i:])[0]
			return nil, errAt(start, "unexpected character %q: a filter is conditions like metrics.accuracy > 0.9 joined by AND", r)
		}
	}
}

// scanNumber reads a decimal number at s[i:]: an optional sign, digits
// with an optional fraction, an optional exponent.
func scanNumber(s string, i int) (int, bool) {
	if s[i] == '-' || s[i] == '+' {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return i, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			j++
		}
		if j == len(s) || !isDigit(s[j]) {
			return j, false
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		i = j
	}
	if i < len(s) && isWordByte(s[i]) {
		for i < len(s) && isWordByte(s[i]) {
			i++
		}
		return i, false
	}
	return i, true
}

// scanQuoted reads text quoted by s[i] up to its closing quote; a
// doubled quote inside stands for one, as in SQL.
func scanQuoted(s string, i int) (string, int, bool) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		if s[j] != q {
			b.WriteByte(s[j])
			continue
		}
		if j+1 < len(s) && s[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return b.String(), j + 1, true
	}
	return "", len(s), false
}

func isSpace(c byte) bool     { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isWordByte(c byte) bool  { return isWordStart(c) || isDigit(c) }
