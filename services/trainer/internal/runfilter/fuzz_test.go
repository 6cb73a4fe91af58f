package runfilter

import (
	"errors"
	"testing"
)

// FuzzParse holds the parser to its contract on any text: it never
// panics, every error is an *Error with a column inside the text (or
// just past it), and a filter that parses prints back (String) into one
// that parses the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud' and attributes.status = 'succeeded'",
		"tags.`a b` LIKE '%x''y_' AND params.\"k\" IN ('a', \"b\")",
		"attributes.status NOT IN ('failed') and metrics.log_loss <= -1.5e-3",
		"metrics.accuracy DESC, params.c ASC",
		"", "(", "'", "`", "metrics.", "1e", "-.5", "a.b <> 'c'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, oerr := ParseOrderBy(s)
		checkErr(t, s, oerr)
		_, ferr := ParseFields(s)
		checkErr(t, s, ferr)
		p, err := Parse(s)
		checkErr(t, s, err)
		if err != nil {
			return
		}
		_ = p.Check(testSchema())
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q) printed as %q, which does not parse: %v", s, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("Parse(%q) printed %q, then %q", s, p.String(), again.String())
		}
	})
}

func checkErr(t *testing.T, s string, err error) {
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Pos < 1 || e.Pos > max(len(s), MaxLength)+1 {
		t.Fatalf("error %v: column %d outside the text of %d bytes", err, e.Pos, len(s))
	}
}
