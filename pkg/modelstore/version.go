package modelstore

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewVersion returns a version id that sorts by time:
// 20261126T221500Z-1a2b3c4d (UTC second, then 32 random bits). Run ids use
// the same form; a successful run's version is its run id.
func NewVersion(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
