package modelstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

var (
	versionRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidName reports whether name may be a model or alias name:
// names.Pattern.
func ValidName(name string) bool { return names.Valid(name) }

// ValidVersion reports whether v has the form NewVersion makes.
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

// ValidSHA256 reports whether s is a hex SHA-256.
func ValidSHA256(s string) bool { return sha256RE.MatchString(s) }

// NewVersion returns a version id that sorts by time:
// 20261126T221500Z-1a2b3c4d (UTC second; then the fraction of the second in
// 1/65536ths, so that ids of one second sort by time too; then 16 random
// bits). Run ids use the same form; a successful run's version is its run
// id.
func NewVersion(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[2:]) // crypto/rand.Read never fails on Linux
	frac := uint64(now.Nanosecond()) << 16 / uint64(time.Second)
	b[0], b[1] = byte(frac>>8), byte(frac)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// VersionTime is the time a version id was made at.
func VersionTime(v string) (time.Time, bool) {
	if !ValidVersion(v) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", v[:16])
	return t, err == nil
}

// SHA256 returns the hex SHA-256 of b, as recorded in aliases.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func checkName(kind, name string) error {
	if !ValidName(name) {
		return errorf(ErrInvalid, "check", kind, "%s name %q %s", kind, name, names.Rule)
	}
	return nil
}

func checkVersion(v string) error {
	if !ValidVersion(v) {
		return errorf(ErrInvalid, "check", "version", "version %q must look like 20261126T221500Z-1a2b3c4d", v)
	}
	return nil
}

// checkNames checks a model name, then each version or run id.
func checkNames(model string, versions ...string) error {
	if err := checkName("model", model); err != nil {
		return err
	}
	for _, v := range versions {
		if err := checkVersion(v); err != nil {
			return err
		}
	}
	return nil
}

func versionPrefix(model string) string   { return "models/" + model + "/versions/" }
func artifactKey(model, v string) string  { return versionPrefix(model) + v + "/" + artifactFile }
func recordKey(model, v string) string    { return versionPrefix(model) + v + "/" + recordFile }
func aliasPrefix(model string) string     { return "models/" + model + "/aliases/" }
func aliasKey(model, alias string) string { return aliasPrefix(model) + alias + ".json" }
func runPrefix(model string) string       { return "runs/" + model + "/" }
func runKey(model, id string) string      { return runPrefix(model) + id + ".json" }
func runIndexKey(id string) string        { return "index/runs/" + id + ".json" }
func datasetKey(sum string) string        { return datasetPrefix + sum + ".csv" }

const (
	artifactFile  = "model.pb"
	recordFile    = "run.json"
	datasetPrefix = "datasets/"
)
