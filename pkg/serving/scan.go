package serving

// The scanner's structural reads, shared by the OIP decoder: objects and
// arrays member by member, values passed over with bounded nesting.

// maxSkipDepth bounds the nesting of a value the decoders pass over (OIP
// parameters): deeper documents are refused before they cost anything,
// where a generic decoder would walk them.
const maxSkipDepth = 32

// members reads the object at the scanner (on its '{'), calling member
// with each key, unescaped, and the scanner on its value.
func (s *scanner) members(member func(key []byte) error) error {
	s.i++
	if s.expect('}') {
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.syntax()
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		if !s.expect(':') {
			return s.syntax()
		}
		if err := member(key); err != nil {
			return err
		}
		if s.expect(',') {
			continue
		}
		if s.expect('}') {
			return nil
		}
		return s.syntax()
	}
}

// items reads the array at the scanner (on its '['), calling item with
// each index and the scanner on the item.
func (s *scanner) items(item func(i int) error) error {
	s.i++
	if s.expect(']') {
		return nil
	}
	for i := 0; ; i++ {
		if err := item(i); err != nil {
			return err
		}
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return nil
		}
		return s.syntax()
	}
}

// skip advances over one JSON value, checking its syntax, nested at most
// depth levels.
func (s *scanner) skip(depth int) error {
	switch s.peek() {
	case '{':
		if depth == 0 {
			return &InputError{Msg: "nested too deeply"}
		}
		return s.members(func([]byte) error { return s.skip(depth - 1) })
	case '[':
		if depth == 0 {
			return &InputError{Msg: "nested too deeply"}
		}
		return s.items(func(int) error { return s.skip(depth - 1) })
	case '"':
		_, _, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if !s.scanNumber() {
			return s.syntax()
		}
		return nil
	}
	return s.syntax()
}

// literal reads true, false or null at s.i.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.syntax()
	}
	s.i += len(word)
	return nil
}

// wrongKind reports a value of another kind than want at the scanner, or
// malformed JSON when there is no value there.
func (s *scanner) wrongKind(field, want string) error {
	c := s.peek()
	k := kindName(c)
	if c == 0 || k == "invalid JSON" {
		return s.syntax()
	}
	return &InputError{Field: field, Msg: "expected " + want + ", got " + k}
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
