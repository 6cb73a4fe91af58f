package dataset

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [23]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal converts a plain decimal ("-12.5", "3", ".25", "1e-3") whose
// digits form an integer m below 2^53 and whose scale is 10^e with |e| <=
// 22. Then m and 10^e are exact and one multiplication or division rounds
// once, so the result has the bits of strconv.ParseFloat, which is
// correctly rounded. For anything else ok is false and strconv must decide.
func parseDecimal[S ~string | ~[]byte](s S) (v float64, ok bool) {
	v, n, ok := scanDecimal(s)
	return v, ok && n == len(s)
}

// scanDecimal converts the plain decimal at the start of s, as parseDecimal
// does, and returns its length.
func scanDecimal[S ~string | ~[]byte](s S) (v float64, n int, ok bool) {
	i := 0
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		i = 1
	}
	// Up to 19 digits, leading zeros included, fit in a uint64.
	start := i
	mant, i := scanDigits(s, i, 0)
	digits := i - start
	exp := 0
	if i < len(s) && s[i] == '.' {
		frac := i + 1
		mant, i = scanDigits(s, frac, mant)
		exp = frac - i
		digits -= exp
	}
	if digits == 0 || digits > 19 {
		return 0, 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, m, ok := scanExponent(s[i+1:])
		if !ok {
			return 0, 0, false
		}
		exp += e
		i += 1 + m
	}
	if mant >= 1<<53 {
		return 0, 0, false
	}
	v = float64(mant)
	if neg {
		v = -v
	}
	switch {
	case mant == 0 || exp == 0:
		return v, i, true
	case exp > 0 && exp <= 22:
		return v * pow10[exp], i, true
	case exp < 0 && exp >= -22:
		return v / pow10[-exp], i, true
	}
	return 0, 0, false
}

// scanDigits appends the decimal digits from s[i] on to mant and returns
// it with the index after them.
func scanDigits[S ~string | ~[]byte](s S, i int, mant uint64) (uint64, int) {
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			break
		}
		mant = mant*10 + uint64(c)
	}
	return mant, i
}

// scanExponent reads the digits after an 'e', with an optional sign, and
// returns their length.
func scanExponent[S ~string | ~[]byte](s S) (e, n int, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		n = 1
	}
	start := n
	for ; n < len(s) && n-start < 5; n++ {
		c := s[n] - '0'
		if c > 9 {
			break
		}
		e = e*10 + int(c)
	}
	if n == start || n-start == 5 {
		return 0, 0, false
	}
	if neg {
		e = -e
	}
	return e, n, true
}

// parseNumber converts a feature value, as parseDecimal does or else as
// strconv.ParseFloat does, and rejects what is not a finite number.
func parseNumber[S ~string | ~[]byte](s S) (float64, error) {
	if v, ok := parseDecimal(s); ok {
		return v, nil
	}
	return parseNumberSlow(string(s))
}

func parseNumberSlow(s string) (float64, error) {
	if s == "" {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if !utf8.ValidString(s) {
			return 0, errors.New("value is not valid UTF-8")
		}
		if len(s) > 40 {
			s = s[:40] + "…"
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "")
			}
		}
		if err == nil {
			return 0, fmt.Errorf("%q is not a finite number", s)
		}
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range for float64", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}
