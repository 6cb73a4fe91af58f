package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/modelferry/modelferry/pkg/modelstore"
)

// The bounds of a run's names and notes.
const (
	MaxNameBytes        = 250
	MaxTags             = 50
	MaxTagKeyBytes      = 250
	MaxTagValueBytes    = 5000
	MaxDescriptionBytes = 16 << 10
)

// ErrRunActive is an edit of a run still queued or running: its record is
// rewritten until it ends.
var ErrRunActive = errors.New("the run is still queued or running")

// ErrStale is an edit made against a revision the run no longer has.
var ErrStale = errors.New("the run was changed since it was read")

// EditError is an edit that breaks a bound or a rule; its message says
// which, for the client.
type EditError struct{ err error }

func (e *EditError) Error() string { return e.err.Error() }

// Unwrap makes an EditError a modelstore.ErrInvalid.
func (e *EditError) Unwrap() error { return modelstore.ErrInvalid }

// Annotations are an edit of a run's names and notes: nil fields stay as
// they are; a nil tag value removes the tag (JSON merge patch).
type Annotations struct {
	Name        *string
	Tags        map[string]*string
	Description *string
	// IfRevision, when set, is the revision the edit was made against:
	// a run that has another is ErrStale.
	IfRevision *int
}

const (
	adjectives = "brave calm clever eager fair gentle happy jolly keen kind lively lucky merry mighty noble proud quick quiet rapid shy sleek smart snappy steady sunny swift tidy bold bright witty zesty wise"
	animals    = "otter badger falcon heron lynx marten panda puffin quail raven robin salmon seal sparrow stoat swan tiger trout viper walrus wombat yak zebra bison crane dingo egret ferret gecko ibis koala lemur"
)

// GeneratedName is the readable name a run gets when none is given, the
// same for the same id: adjective-animal-number, as brave-otter-42.
func GeneratedName(id string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	n := h.Sum64()
	adj, ani := strings.Fields(adjectives), strings.Fields(animals)
	a := adj[n%uint64(len(adj))]
	n /= uint64(len(adj))
	b := ani[n%uint64(len(ani))]
	n /= uint64(len(ani))
	return fmt.Sprintf("%s-%s-%d", a, b, n%100)
}

// CheckName says what is wrong with a run name, if anything.
func CheckName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("name must not be empty or blank")
	case len(name) > MaxNameBytes:
		return fmt.Errorf("name is %d bytes long; at most %d are allowed", len(name), MaxNameBytes)
	}
	return checkText("name", name)
}

func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) && (what != "description" || (r != '\n' && r != '\t' && r != '\r')) {
			return fmt.Errorf("%s holds the control character %U", what, r)
		}
	}
	return nil
}

// check says what is wrong with a, applied to tags, if anything.
func (a Annotations) check(tags map[string]string) error {
	if a.Name != nil {
		if err := CheckName(*a.Name); err != nil {
			return err
		}
	}
	if a.Description != nil {
		if len(*a.Description) > MaxDescriptionBytes {
			return fmt.Errorf("description is %d bytes long; at most %d are allowed", len(*a.Description), MaxDescriptionBytes)
		}
		if err := checkText("description", *a.Description); err != nil {
			return err
		}
	}
	for k, v := range a.Tags {
		switch {
		case k == "":
			return errors.New("a tag key must not be empty")
		case len(k) > MaxTagKeyBytes:
			return fmt.Errorf("tag key %.40q… is %d bytes long; at most %d are allowed", k, len(k), MaxTagKeyBytes)
		case v != nil && len(*v) > MaxTagValueBytes:
			return fmt.Errorf("tag %q is %d bytes long; at most %d are allowed", k, len(*v), MaxTagValueBytes)
		}
		if err := checkText("tag key "+fmt.Sprintf("%q", k), k); err != nil {
			return err
		}
		if v != nil {
			if err := checkText(fmt.Sprintf("tag %q", k), *v); err != nil {
				return err
			}
		}
	}
	if len(tags) > MaxTags {
		return fmt.Errorf("the run would have %d tags; at most %d are allowed", len(tags), MaxTags)
	}
	return nil
}

// Annotate applies an edit to a finished run's record with
// compare-and-swap: read with its ETag, changed, written only if the
// stored record is still the one read. A record changed in between is
// read again and the edit applied to it (a few times), so no edit is
// ever lost; IfRevision makes a stale one ErrStale instead. Bad input
// is an *EditError.
func (r *Registry) Annotate(ctx context.Context, id string, a Annotations) (Run, error) {
	if run, ok := r.live(id); ok && !run.Status.Terminal() {
		return Run{}, fmt.Errorf("edit run %s: %w", id, ErrRunActive)
	}
	for attempt := 0; ; attempt++ {
		model, _, err := r.store.FindRun(ctx, id)
		if err != nil {
			return Run{}, fmt.Errorf("find run %s: %w", id, err)
		}
		b, etag, err := r.store.GetRunTagged(ctx, model, id)
		if err != nil {
			return Run{}, fmt.Errorf("read run %s: %w", id, err)
		}
		run, err := decodeRun(id, b)
		if err != nil {
			return Run{}, err
		}
		if !run.Status.Terminal() {
			return Run{}, fmt.Errorf("edit run %s: %w", id, ErrRunActive)
		}
		if a.IfRevision != nil && *a.IfRevision != run.Revision {
			return Run{}, fmt.Errorf("edit run %s at revision %d: it is at %d: %w", id, *a.IfRevision, run.Revision, ErrStale)
		}
		tags := maps.Clone(run.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		for k, v := range a.Tags {
			if v == nil {
				delete(tags, k)
			} else {
				tags[k] = *v
			}
		}
		if err := a.check(tags); err != nil {
			return Run{}, &EditError{err: err}
		}
		if len(tags) == 0 {
			tags = nil
		}
		run.Tags = tags
		if a.Name != nil {
			run.Name = *a.Name
		}
		if a.Description != nil {
			run.Description = *a.Description
		}
		run.Revision++
		run, rec, err := encodeRun(run)
		if err != nil {
			return Run{}, err
		}
		err = r.store.PutRun(ctx, model, id, rec, modelstore.PutRunOptions{IfMatch: etag})
		if errors.Is(err, modelstore.ErrConflict) && attempt < 3 {
			continue // changed in between: apply the edit to what is there now
		}
		if err != nil {
			return Run{}, fmt.Errorf("save run %s: %w", id, err)
		}
		r.cache.put(run)
		return run, nil
	}
}

// liveRun is this process's live state of a run; once the run has ended
// it carries the names and notes of its latest record (cached when saved
// or edited), which an edit after the end changed and the live state
// does not know.
func (r *Registry) liveRun(id string) (Run, bool) {
	run, ok := r.live(id)
	if !ok || !run.Status.Terminal() {
		return run, ok
	}
	if c, cached := r.cache.peek(id); cached && c.Revision > run.Revision {
		run.Name, run.Tags, run.Description, run.Revision = c.Name, maps.Clone(c.Tags), c.Description, c.Revision
	}
	return run, true
}
