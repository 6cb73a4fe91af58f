package modelstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A model's versions also have sequential numbers, 1, 2, 3…, for people:
// number n is claimed by creating models/<model>/numbers/<n> (zero-padded,
// so that a listing sorts them), whose body is the version id. The create
// is conditional (If-None-Match: *): of two publishes claiming one number,
// one wins and the other takes the next. Claims are never removed, so a
// number is never reused, not even by a version whose publish failed.

// maxNumberTries bounds the claims of one AssignNumber: each lost one
// means another publish of the same model won that number meanwhile.
const maxNumberTries = 64

func numberPrefix(model string) string { return "models/" + model + "/numbers/" }

func numberKey(model string, n int) string { return fmt.Sprintf("%s%010d", numberPrefix(model), n) }

// ParseNumber reports whether v is a version number (1 to 999999999,
// without leading zeros) rather than a version id, and which.
func ParseNumber(v string) (int, bool) {
	if v == "" || len(v) > 9 || v[0] == '0' || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// AssignNumber claims the model's next version number for version and
// returns it: one past the highest claimed, or past a number another
// publish claims meanwhile.
func (s *Store) AssignNumber(ctx context.Context, model, version string) (int, error) {
	if err := checkNames(model, version); err != nil {
		return 0, err
	}
	objs, err := s.list(ctx, numberPrefix(model), ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("number %s/%s: %w", model, version, err)
	}
	next := 1
	for _, o := range objs {
		if n, err := strconv.Atoi(strings.TrimPrefix(o.Key, numberPrefix(model))); err == nil && n >= next {
			next = n + 1
		}
	}
	for range maxNumberTries {
		_, err := s.put(ctx, numberKey(model, next), []byte(version), PutOptions{ContentType: "text/plain", CreateOnly: true})
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, ErrConflict) {
			return 0, fmt.Errorf("number %s/%s: %w", model, version, err)
		}
		next++
	}
	return 0, errorf(ErrConflict, "number", numberKey(model, next), "%d numbers claimed by other publishes meanwhile", maxNumberTries)
}

// VersionOfNumber returns the id of the model's version number n;
// ErrNotFound when no version has it.
func (s *Store) VersionOfNumber(ctx context.Context, model string, n int) (string, error) {
	if err := checkName("model", model); err != nil {
		return "", err
	}
	b, _, err := s.get(ctx, numberKey(model, n), GetOptions{MaxBytes: MaxAliasBytes}) // a version id: bounded as an alias
	if err != nil {
		return "", fmt.Errorf("version number %d of %s: %w", n, model, err)
	}
	if v := string(b); ValidVersion(v) {
		return v, nil
	}
	return "", errorf(ErrIntegrity, "get", numberKey(model, n), "not a version id")
}
