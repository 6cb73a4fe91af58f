// Package reloader keeps a predictor on the version a model alias points
// at: it polls the alias with a conditional GET, loads and verifies a new
// version, and swaps it in atomically. A failed load keeps the old model.
package reloader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
)

// Store is what a Reloader reads from the registry; *modelstore.Store has
// it.
type Store interface {
	PollAlias(ctx context.Context, model, alias, lastETag string) (a modelstore.Alias, etag string, changed bool, err error)
	ReadArtifact(ctx context.Context, model, version, wantSHA string) ([]byte, error)
}

// Config configures a Reloader.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Metrics are the series it keeps up to date; without them it makes
	// its own on Registry (nil: on none).
	Metrics  *Metrics
	Registry prometheus.Registerer
	Model    string
	Alias    string
	Interval time.Duration
	// CacheDir, when set, keeps the last good artifact on disk so that a
	// restart during an S3 outage still serves.
	CacheDir string
	// Clock, when set, turns drift monitoring on for models with a
	// training baseline.
	Clock *monitor.Clock
	Now   func() time.Time
}

// Reloader follows Model@Alias.
type Reloader struct {
	cfg     Config
	log     *slog.Logger
	current atomic.Pointer[serving.Model]

	// waiting says why no model is served yet, for readiness and 503s.
	waiting atomic.Pointer[string]

	etag string // of the alias as last read
	// badSHA is an artifact that failed to load: it is not fetched again
	// until the alias points elsewhere.
	badSHA string
	// found is whether the alias existed at the last answer of storage.
	found atomic.Bool

	metrics    *Metrics
	loaded     prometheus.Gauge
	reloads    *prometheus.CounterVec
	lastOK     prometheus.Gauge
	lastOKTime prometheus.Gauge
	lastPoll   prometheus.Gauge
}

// New returns a Reloader; call Run to start following the alias.
func New(cfg Config) *Reloader {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Registry)
	}
	m, model := cfg.Metrics, cfg.Model
	r := &Reloader{
		cfg:        cfg,
		log:        cfg.Logger.With("model", cfg.Model, "alias", cfg.Alias),
		metrics:    m,
		loaded:     m.loaded.WithLabelValues(model),
		reloads:    m.reloads.MustCurryWith(prometheus.Labels{"model": model}),
		lastOK:     m.lastOK.WithLabelValues(model),
		lastOKTime: m.lastOKTime.WithLabelValues(model),
		lastPoll:   m.lastPoll.WithLabelValues(model),
	}
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	return r
}

// Unload stops serving the model (its alias is gone) and forgets its
// series. The Reloader is not polled again.
func (r *Reloader) Unload() {
	if old := r.current.Swap(nil); old != nil {
		r.log.Info("model unloaded: its alias is gone", "version", old.Version)
	}
	r.metrics.Forget(r.cfg.Model)
}

// Found reports whether the alias existed when storage last answered.
func (r *Reloader) Found() bool { return r.found.Load() }

// Model is the model the Reloader follows.
func (r *Reloader) Model() string { return r.cfg.Model }

// Alias is the alias the Reloader follows.
func (r *Reloader) Alias() string { return r.cfg.Alias }

// Current returns the model being served, or nil before the first load.
func (r *Reloader) Current() *serving.Model { return r.current.Load() }

// Start is a model's first poll: it polls once and, when storage cannot
// answer and nothing is served yet, serves the cached model. A storage
// that answers is believed, even when it has no model. It returns the
// poll's error, already logged.
func (r *Reloader) Start(ctx context.Context) error {
	err := r.Poll(ctx)
	if err != nil && r.cfg.CacheDir != "" && r.Current() == nil {
		r.LoadCache()
	}
	return err
}

// pollTimeout bounds one poll, the load of a new version included.
func (r *Reloader) pollTimeout() time.Duration {
	return max(5*r.cfg.Interval, 10*time.Second)
}

// Poll checks the alias once and loads the version it names when it
// changed. It returns the storage or load error, already logged.
func (r *Reloader) Poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.pollTimeout())
	defer cancel()
	alias, etag, changed, err := r.cfg.Store.PollAlias(ctx, r.cfg.Model, r.cfg.Alias, r.etag)
	switch {
	case errors.Is(err, modelstore.ErrNotFound):
		r.found.Store(false)
		r.lastPoll.Set(float64(r.cfg.Now().Unix()))
		r.log.Debug("alias not found: nothing published yet, or it was deleted")
		if r.Current() == nil {
			r.wait(fmt.Sprintf("waiting for %s@%s to be published (POST /train on the trainer)", r.cfg.Model, r.cfg.Alias))
		}
		return nil
	case errors.Is(err, modelstore.ErrIntegrity), errors.Is(err, modelstore.ErrTooLarge):
		// Reported once per bad alias; the next change of its ETag is
		// read again.
		r.found.Store(true)
		r.lastPoll.Set(float64(r.cfg.Now().Unix()))
		if etag != r.etag {
			r.fail(modelstore.Alias{}, err)
			r.etag = etag
		}
		r.wait(fmt.Sprintf("the %s@%s alias is unreadable (integrity): point it at a good version (PUT /models/%s/aliases/%s on the trainer)",
			r.cfg.Model, r.cfg.Alias, r.cfg.Model, r.cfg.Alias))
		return err
	case err != nil:
		r.log.Warn("polling alias", "err", err)
		r.wait("model storage is unavailable; the model loads once it answers")
		return err
	}
	r.found.Store(true)
	r.lastPoll.Set(float64(r.cfg.Now().Unix()))
	if !changed {
		return nil
	}
	if cur := r.Current(); cur != nil && cur.SHA256 == alias.SHA256 {
		// Rolled back to what is served: nothing to load, nothing failing.
		r.etag = etag
		r.badSHA = ""
		r.lastOK.Set(1)
		return nil
	}
	if alias.SHA256 == r.badSHA {
		r.etag = etag
		return nil
	}
	if err := r.load(ctx, alias); err != nil {
		r.fail(alias, err)
		if errors.Is(err, modelstore.ErrTooLarge) {
			r.wait(fmt.Sprintf("%s@%s points at version %s, whose artifact is too large (%v): point it at a good version (PUT /models/%s/aliases/%s on the trainer)",
				r.cfg.Model, r.cfg.Alias, alias.Version, err, r.cfg.Model, r.cfg.Alias))
		} else if errors.Is(err, modelstore.ErrIntegrity) {
			r.wait(fmt.Sprintf("%s@%s points at version %s, which failed its integrity check (sha256 or structure): point it at a good version (PUT /models/%s/aliases/%s on the trainer)",
				r.cfg.Model, r.cfg.Alias, alias.Version, r.cfg.Model, r.cfg.Alias))
		} else {
			r.wait(fmt.Sprintf("loading version %s of %s@%s failed; retrying", alias.Version, r.cfg.Model, r.cfg.Alias))
		}
		if errors.Is(err, modelstore.ErrIntegrity) || errors.Is(err, modelstore.ErrNotFound) || errors.Is(err, modelstore.ErrTooLarge) {
			// Retrying cannot help until the alias moves.
			r.badSHA = alias.SHA256
			r.etag = etag
		}
		return err
	}
	r.etag = etag
	return nil
}

func (r *Reloader) load(ctx context.Context, alias modelstore.Alias) error {
	b, err := r.cfg.Store.ReadArtifact(ctx, r.cfg.Model, alias.Version, alias.SHA256)
	if errors.Is(err, modelstore.ErrTooLarge) {
		return fmt.Errorf("%w (PREDICTOR_MAX_ARTIFACT_BYTES)", err)
	}
	if err != nil {
		return err
	}
	m, err := artifact.DecodeVersion(b, r.cfg.Model, alias.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", modelstore.ErrIntegrity, err)
	}
	sm, err := serving.New(m, alias.SHA256, r.metrics.predictions, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", modelstore.ErrIntegrity, err)
	}
	r.watch(sm)
	r.swap(sm)
	r.writeCache(b, alias)
	return nil
}

// watch turns drift monitoring on for sm when the predictor monitors and
// the artifact has a baseline.
func (r *Reloader) watch(sm *serving.Model) {
	if r.cfg.Clock == nil {
		return
	}
	if d := monitor.NewDrift(sm.Meta, r.cfg.Clock); d != nil {
		sm.Watch(d)
	}
}

// wait records why no model is served, while none is.
func (r *Reloader) wait(why string) {
	if r.Current() == nil {
		r.waiting.Store(&why)
	}
}

// Waiting says why no model is served yet; empty once one is.
func (r *Reloader) Waiting() string {
	if r.Current() != nil {
		return ""
	}
	if w := r.waiting.Load(); w != nil {
		return *w
	}
	return fmt.Sprintf("waiting for %s@%s to be published (POST /train on the trainer)", r.cfg.Model, r.cfg.Alias)
}

// swap serves sm from now on; requests already holding the old model
// finish with it.
func (r *Reloader) swap(sm *serving.Model) {
	old := r.current.Swap(sm)
	if old != nil && old.Version != sm.Version {
		// Series of versions no longer served go, so the label sets stay
		// bounded however many versions come and go.
		r.metrics.info.DeleteLabelValues(old.Name, old.Version)
		r.metrics.predictions.DeletePartialMatch(prometheus.Labels{"model": old.Name, "version": old.Version})
	}
	r.metrics.info.WithLabelValues(sm.Name, sm.Version).Set(1)
	r.loaded.Set(1)
	r.reloads.WithLabelValues("success").Inc()
	r.lastOK.Set(1)
	r.lastOKTime.Set(float64(r.cfg.Now().Unix()))
	r.badSHA = ""
	from := ""
	if old != nil {
		from = old.Version
	}
	r.log.Info("model loaded", "version", sm.Version, "sha256", sm.SHA256, "previous", from)
}

func (r *Reloader) fail(alias modelstore.Alias, err error) {
	r.reloads.WithLabelValues("failure").Inc()
	r.lastOK.Set(0)
	serving := ""
	if cur := r.Current(); cur != nil {
		serving = cur.Version
	}
	r.log.Error("model load failed; keeping the current model", "version", alias.Version, "serving", serving, "err", err)
}

// cacheRecord sits beside the cached artifact.
type cacheRecord struct {
	Model string           `json:"model"`
	Alias modelstore.Alias `json:"alias"`
}

func (r *Reloader) cachePaths() (artifactPath, recordPath string) {
	base := filepath.Join(r.cfg.CacheDir, r.cfg.Model+"@"+r.cfg.Alias)
	return base + ".pb", base + ".json"
}

// writeCache stores the artifact then its record, each replaced
// atomically, so a crash leaves either the old pair or a record that fails
// verification.
func (r *Reloader) writeCache(b []byte, alias modelstore.Alias) {
	if r.cfg.CacheDir == "" {
		return
	}
	pbPath, recPath := r.cachePaths()
	rec, err := json.Marshal(cacheRecord{Model: r.cfg.Model, Alias: alias})
	if err == nil {
		err = os.MkdirAll(r.cfg.CacheDir, 0o755)
	}
	// The temporary files sit beside the cache: a rename never crosses
	// file systems.
	here := renameio.WithTempDir(r.cfg.CacheDir)
	if err == nil {
		err = renameio.WriteFile(pbPath, b, 0o644, here)
	}
	if err == nil {
		err = renameio.WriteFile(recPath, rec, 0o644, here)
	}
	if err != nil {
		r.log.Warn("writing model cache", "dir", r.cfg.CacheDir, "err", err)
	}
}

// LoadCache serves the cached artifact after verifying it as if it came
// from S3.
func (r *Reloader) LoadCache() {
	pbPath, recPath := r.cachePaths()
	recBytes, err := os.ReadFile(recPath)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.log.Warn("reading model cache", "err", err)
		}
		return
	}
	var rec cacheRecord
	b, err := os.ReadFile(pbPath)
	if err == nil {
		err = json.Unmarshal(recBytes, &rec)
	}
	if err == nil && modelstore.SHA256(b) != rec.Alias.SHA256 {
		err = errors.New("cached artifact does not match its recorded sha256")
	}
	var sm *serving.Model
	if err == nil {
		m, derr := artifact.DecodeVersion(b, r.cfg.Model, rec.Alias.Version)
		if derr != nil {
			err = derr
		} else {
			if sm, err = serving.New(m, rec.Alias.SHA256, r.metrics.predictions, r.cfg.Now()); err == nil {
				r.watch(sm)
			}
		}
	}
	if err != nil {
		r.fail(rec.Alias, fmt.Errorf("model cache: %w", err))
		return
	}
	r.log.Warn("storage unreachable; serving the cached model until it answers", "version", sm.Version)
	r.swap(sm)
}
