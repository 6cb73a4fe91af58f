package modelstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// PutLog stores a batch of sampled predictions (NDJSON) under
// logs/<model>/<yyyy-mm-dd>/<time>-<random>.ndjson and returns its key.
// Retention is the bucket owner's: an S3 lifecycle rule on logs/.
func (s *Store) PutLog(ctx context.Context, model string, at time.Time, ndjson []byte) (string, error) {
	if err := checkName("model", model); err != nil {
		return "", err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	at = at.UTC()
	key := "logs/" + model + "/" + at.Format("2006-01-02") + "/" + at.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".ndjson"
	_, err := s.put(ctx, key, ndjson, PutOptions{ContentType: "application/x-ndjson", CreateOnly: true})
	return key, err
}
