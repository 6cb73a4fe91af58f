package serving

// maxSkipDepth bounds the nesting of a value the decoders pass over
// (OIP parameters): deeper documents are refused before they cost
// anything, where a generic decoder would walk them.
const maxSkipDepth = 32

// skip advances over one JSON value, checking its syntax, nested at most
// depth levels.
func (s *scanner) skip(depth int) error {
	switch c := s.peek(); c {
	case '{', '[':
		if depth == 0 {
			return &InputError{Msg: "nested too deeply"}
		}
		s.i++
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		if s.expect(end) {
			return nil
		}
		for {
			if c == '{' {
				if s.peek() != '"' {
					return s.syntax()
				}
				if _, _, err := s.strictStr(); err != nil {
					return err
				}
				if !s.expect(':') {
					return s.syntax()
				}
			}
			if err := s.skip(depth - 1); err != nil {
				return err
			}
			if s.expect(',') {
				continue
			}
			if s.expect(end) {
				return nil
			}
			return s.syntax()
		}
	case '"':
		_, _, err := s.strictStr()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if !s.scanNumber() {
			return s.syntax()
		}
		return nil
	}
}

// literal reads true, false or null at s.i.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.syntax()
	}
	s.i += len(word)
	return nil
}

// strictStr is str that also checks every escape, so that what it passes
// over is valid JSON: a string the answer echoes, or one it skips.
func (s *scanner) strictStr() (raw []byte, escaped bool, err error) {
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
			if s.i+1 >= len(s.b) {
				s.i = len(s.b)
				return nil, false, s.syntax()
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.b)-s.i < 6 || !hex4(s.b[s.i+2:s.i+6]) {
					return nil, false, s.syntax()
				}
				s.i += 6
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

func hex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
