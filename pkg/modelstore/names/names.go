// Package names holds the registry's rule for model and alias names and the
// way every error message quotes a client's value. It depends on the
// standard library only, so the inference core (serving, pipeline) and the
// configuration code can use it without the HTTP or storage packages.
// modelstore owns the rule: it checks every name it writes into a key with
// Valid; the services repeat Rule in their messages.
package names

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Pattern is the form of a model or alias name: a lowercase letter or
// digit, then up to 62 lowercase letters, digits, '_' or '-'. A name is a
// path segment of the bucket's keys and of the APIs' URLs.
const Pattern = `[a-z0-9][a-z0-9_-]{0,62}`

// Rule is the end of every message that rejects a name.
const Rule = "must match " + Pattern

var re = regexp.MustCompile(`^` + Pattern + `$`)

// Valid reports whether name may be a model or alias name (Pattern).
func Valid(name string) bool { return re.MatchString(name) }

// maxQuoted bounds how much of a client's value an error message repeats.
const maxQuoted = 100

// Quote is %q of a client's value cut to about 100 bytes: an error says
// what was wrong without echoing a whole hostile input back.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// Clip is a client's value as it is when it is short, else Quote of it:
// for messages that show short values bare (paths, keys, numbers).
func Clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return Quote(s)
}
