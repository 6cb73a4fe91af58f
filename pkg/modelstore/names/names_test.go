package names

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"iris", true},
		{"0", true},
		{"a_b-c9", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"_iris", false},
		{"-iris", false},
		{"Iris", false},
		{"iris/x", false},
		{"iris\n", false},
		{"iris.v2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Valid(tc.name); got != tc.ok {
				t.Errorf("Valid(%q) = %v, want %v", tc.name, got, tc.ok)
			}
		})
	}
}

func TestRule(t *testing.T) {
	if want := "must match [a-z0-9][a-z0-9_-]{0,62}"; Rule != want {
		t.Errorf("Rule = %q, want %q", Rule, want)
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 99) + "é" + strings.Repeat("y", 50) // é straddles byte 100
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", `a"b`, `"a\"b"`},
		{"exactly the limit", strings.Repeat("z", 100), `"` + strings.Repeat("z", 100) + `"`},
		{"cut before a rune", long, `"` + strings.Repeat("x", 99) + `"… (151 bytes)`},
		{"control bytes", "a\x00b", `"a\x00b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Quote(tc.in); got != tc.want {
				t.Errorf("Quote = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("k", 101)
	for _, tc := range []struct{ in, want string }{
		{"sepal_length", "sepal_length"},
		{strings.Repeat("k", 100), strings.Repeat("k", 100)},
		{long, Quote(long)},
	} {
		if got := Clip(tc.in); got != tc.want {
			t.Errorf("Clip(%d bytes) = %s, want %s", len(tc.in), got, tc.want)
		}
	}
}
