// Package catalog keeps the set of models a predictor serves: a reloader
// per model (verified loads, atomic swaps, the last good version kept),
// all polled together once per interval, and, when the predictor serves
// every model of the bucket, the models found by listing it each interval
// and those whose alias is deleted unloaded.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
	"github.com/modelferry/modelferry/services/predictor/internal/reloader"
)

// Store is what the catalog reads from the registry; *modelstore.Store
// has it.
type Store interface {
	reloader.Store
	ListModels(ctx context.Context) ([]string, error)
}

// Spec is a model to serve and the alias it follows.
type Spec struct{ Name, Alias string }

// Config configures a Catalog.
type Config struct {
	Store   Store
	Logger  *slog.Logger
	Metrics *reloader.Metrics
	// Models are served from the start, in this order. With All, every
	// model of the bucket that has Alias is served too.
	Models []Spec
	All    bool
	Alias  string
	// Default is the model requests that name none get; empty means the
	// first of Models.
	Default string
	// ShadowAlias, when set, is followed too for every model served: the
	// candidate version shadow scoring compares with the served one.
	ShadowAlias string
	Interval    time.Duration
	CacheDir    string
	Clock       *monitor.Clock
	// OnUnload, when set, hears of each model no longer served.
	OnUnload func(name string)
}

// Errors of Lookup.
var (
	// ErrNotServed is a model this predictor does not serve.
	ErrNotServed = errors.New("model not served")
	// ErrNotLoaded is a served model with no version loaded yet.
	ErrNotLoaded = errors.New("model not loaded")
)

// pollers bounds the polls of a round in flight.
const pollers = 8

// Catalog is the set of served models. Lookups take no lock.
type Catalog struct {
	cfg  Config
	log  *slog.Logger
	view atomic.Pointer[view]
	// started is set once the first round has run.
	started atomic.Bool

	mu sync.Mutex // serializes rounds and view changes
}

// view is an immutable snapshot of the served set, swapped whole.
type view struct {
	entries []*entry
	byName  map[string]*entry
}

type entry struct {
	r      *reloader.Reloader
	shadow *reloader.Reloader
}

// New returns a Catalog serving cfg.Models; Run polls them.
func New(cfg Config) *Catalog {
	if cfg.Default == "" && len(cfg.Models) > 0 {
		cfg.Default = cfg.Models[0].Name
	}
	c := &Catalog{cfg: cfg, log: cfg.Logger}
	v := &view{byName: map[string]*entry{}}
	for _, s := range cfg.Models {
		e := c.newEntry(s)
		v.entries = append(v.entries, e)
		v.byName[s.Name] = e
	}
	c.view.Store(v)
	return c
}

func (c *Catalog) newEntry(s Spec) *entry {
	rc := reloader.Config{
		Store: c.cfg.Store, Logger: c.cfg.Logger, Metrics: c.cfg.Metrics, Model: s.Name, Alias: s.Alias,
		Interval: c.cfg.Interval, CacheDir: c.cfg.CacheDir, Clock: c.cfg.Clock,
	}
	e := &entry{r: reloader.New(rc)}
	if c.cfg.ShadowAlias != "" {
		rc.Alias, rc.Metrics, rc.CacheDir, rc.Clock = c.cfg.ShadowAlias, nil, "", nil
		rc.Logger = c.cfg.Logger.With("shadow", true)
		e.shadow = reloader.New(rc)
	}
	return e
}

// Default is the model a request that names none gets.
func (c *Catalog) Default() string { return c.cfg.Default }

// Lookup returns the loaded version of the model named name ("" for the
// default). Its errors wrap ErrNotServed or ErrNotLoaded and say why.
func (c *Catalog) Lookup(name string) (*serving.Model, error) {
	if name == "" {
		name = c.cfg.Default
	}
	v := c.view.Load()
	e, ok := v.byName[name]
	if !ok {
		names := make([]string, len(v.entries))
		for i, e := range v.entries {
			names[i] = e.r.Model()
		}
		return nil, NotServed(name, names)
	}
	if m := e.r.Current(); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotLoaded, e.r.Waiting())
}

// NotServed is the error, wrapping ErrNotServed, of a model named name
// that is not among served; it quotes at most about 100 bytes of name.
func NotServed(name string, served []string) error {
	if len(served) == 0 {
		return fmt.Errorf("%w: model %s is not served: no model is served yet", ErrNotServed, names.Quote(name))
	}
	return fmt.Errorf("%w: model %s is not served: this predictor serves %s", ErrNotServed, names.Quote(name), strings.Join(served, ", "))
}

// Shadow returns the loaded shadow version of a served model, or nil.
func (c *Catalog) Shadow(name string) *serving.Model {
	if e, ok := c.view.Load().byName[name]; ok && e.shadow != nil {
		return e.shadow.Current()
	}
	return nil
}

// Status is a served model as GET /models shows it.
type Status struct {
	Name, Alias string
	// Model is the loaded version, nil before the first load.
	Model *serving.Model
	// Waiting says why no version is loaded yet.
	Waiting string
}

// List returns every served model, in order.
func (c *Catalog) List() []Status {
	v := c.view.Load()
	out := make([]Status, len(v.entries))
	for i, e := range v.entries {
		out[i] = Status{Name: e.r.Model(), Alias: e.r.Alias(), Model: e.r.Current(), Waiting: e.r.Waiting()}
	}
	return out
}

// Loaded returns the loaded version of every served model that has one.
func (c *Catalog) Loaded() []*serving.Model {
	var out []*serving.Model
	for _, e := range c.view.Load().entries {
		if m := e.r.Current(); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Ready reports whether the predictor can serve: with a list of models,
// once every one is loaded; with every model of the bucket, once the
// first listing has been read and each model it found tried, with at
// least one loaded (models found later never take readiness away).
func (c *Catalog) Ready() error {
	v := c.view.Load()
	var waiting []string
	loaded := 0
	for _, e := range v.entries {
		if e.r.Current() != nil {
			loaded++
		} else {
			waiting = append(waiting, e.r.Model()+": "+e.r.Waiting())
		}
	}
	if !c.cfg.All {
		if len(waiting) > 0 {
			return errors.New("no model loaded yet: " + strings.Join(waiting, "; "))
		}
		return nil
	}
	switch {
	case !c.started.Load():
		return errors.New("no model loaded yet: listing the models of the bucket")
	case loaded == 0 && len(waiting) > 0:
		return errors.New("no model loaded yet: " + strings.Join(waiting, "; "))
	case loaded == 0:
		return fmt.Errorf("no model loaded yet: waiting for a model with the %q alias to be published (POST /train on the trainer)", c.cfg.Alias)
	}
	return nil
}

// Run polls until ctx is done: a round at once, then one per interval
// (with ±10% jitter, so replicas do not poll in lockstep).
func (c *Catalog) Run(ctx context.Context) {
	c.round(ctx, true)
	c.started.Store(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(jitter(c.cfg.Interval, rand.Float64())):
		}
		c.round(ctx, false)
	}
}

// jitter spreads an interval over ±10% as u goes over [0, 1), so that
// replicas do not poll in lockstep.
func jitter(d time.Duration, u float64) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*u))
}

// Poll runs one round now: listing (with All) and one conditional GET
// per model.
func (c *Catalog) Poll(ctx context.Context) { c.round(ctx, false) }

func (c *Catalog) round(ctx context.Context, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	listed := c.discover(ctx, first)
	entries := c.view.Load().entries
	failed := poll(ctx, entries, first)
	var gone []*entry
	for i, e := range entries {
		if c.cfg.All && !failed[i] && !e.r.Found() {
			gone = append(gone, e)
		}
	}
	if len(gone) > 0 || listed != nil {
		c.update(ctx, gone, listed)
	}
}

// poll reads the alias of each entry (and its shadow's), pollers at a
// time, and says which reads failed. A first poll (first) is the
// reloader's Start: the cache serves when storage cannot answer.
func poll(ctx context.Context, entries []*entry, first bool) []bool {
	failed := make([]bool, len(entries))
	g := errgroup.Group{}
	g.SetLimit(pollers)
	for i, e := range entries {
		g.Go(func() error {
			if first {
				failed[i] = e.r.Start(ctx) != nil
			} else {
				failed[i] = e.r.Poll(ctx) != nil
			}
			if e.shadow != nil {
				_ = e.shadow.Poll(ctx)
			}
			return nil
		})
	}
	_ = g.Wait()
	return failed
}

// discover lists the bucket (with All) and returns the models not served
// yet that have the alias; nil when there are none. At the first round,
// when the bucket cannot be listed, the models in the cache directory are
// served from it.
func (c *Catalog) discover(ctx context.Context, first bool) []Spec {
	if !c.cfg.All {
		return nil
	}
	names, err := c.cfg.Store.ListModels(ctx)
	if err != nil {
		c.log.Warn("listing the models of the bucket", "err", err)
		if first {
			return c.cached()
		}
		return nil
	}
	v := c.view.Load()
	// Models without the alias are asked again each round: one GET each.
	var unknown []string
	for _, name := range names {
		if _, ok := v.byName[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	// Whether each model not served has the alias, pollers at a time.
	errs := make([]error, len(unknown))
	g := errgroup.Group{}
	g.SetLimit(pollers)
	for i, name := range unknown {
		g.Go(func() error {
			_, _, _, errs[i] = c.cfg.Store.PollAlias(ctx, name, c.cfg.Alias, "")
			return nil
		})
	}
	_ = g.Wait()
	var found []Spec
	for i, name := range unknown {
		switch err := errs[i]; {
		case errors.Is(err, modelstore.ErrNotFound):
		case err != nil && !errors.Is(err, modelstore.ErrIntegrity):
			c.log.Warn("reading the alias of a model found in the bucket", "model", name, "err", err)
		default:
			// Served from now on (an unreadable alias too: it says why).
			found = append(found, Spec{Name: name, Alias: c.cfg.Alias})
		}
	}
	return found
}

// cached returns the models whose last good version is in the cache
// directory.
func (c *Catalog) cached() []Spec {
	if c.cfg.CacheDir == "" {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(c.cfg.CacheDir, "*@"+c.cfg.Alias+".json"))
	var out []Spec
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), "@"+c.cfg.Alias+".json")
		if modelstore.ValidName(name) {
			out = append(out, Spec{Name: name, Alias: c.cfg.Alias})
		}
	}
	return out
}

// update swaps in a view without the gone entries and with the found
// models, which are polled (or read from the cache) before they are
// served.
func (c *Catalog) update(ctx context.Context, gone []*entry, found []Spec) {
	old := c.view.Load()
	v := &view{byName: make(map[string]*entry, len(old.entries)+len(found))}
	for _, e := range old.entries {
		if !slices.Contains(gone, e) {
			v.entries = append(v.entries, e)
			v.byName[e.r.Model()] = e
		}
	}
	added := make([]*entry, len(found))
	for i, s := range found {
		added[i] = c.newEntry(s)
	}
	poll(ctx, added, true)
	for _, e := range added {
		v.entries = append(v.entries, e)
		v.byName[e.r.Model()] = e
	}
	slices.SortStableFunc(v.entries, func(a, b *entry) int { return strings.Compare(a.r.Model(), b.r.Model()) })
	c.view.Store(v)
	for _, e := range gone {
		e.r.Unload()
		if c.cfg.OnUnload != nil {
			c.cfg.OnUnload(e.r.Model())
		}
	}
	if len(gone)+len(found) > 0 {
		c.log.Info("served models changed", "added", len(found), "removed", len(gone), "serving", len(v.entries))
	}
}
