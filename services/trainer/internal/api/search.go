package api

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// paramsDecodeError is the 400 of a params object that does not decode: a
// search spec refused by its own decoder says what is allowed; the rest
// is httpserver.JSONError's.
func paramsDecodeError(err error) *httpserver.Error {
	if errors.Is(err, search.ErrInvalid) {
		return badRequest("params.search: %v", err)
	}
	return httpserver.JSONError(err, "params.")
}

// querySearch reads a search from the query keys search_c ("1e-4:1e4:10"
// or "0.1,1,10"), folds and scoring.
func querySearch(q url.Values, p *registry.Params) error {
	s := q.Get("search_c")
	if s == "" {
		if q.Has("folds") || q.Has("scoring") {
			return badRequest("folds and scoring belong to a search: give search_c too (\"1e-4:1e4:10\" or \"0.1,1,10\")")
		}
		return nil
	}
	grid, err := search.ParseGrid(s)
	if err != nil {
		return badRequest("%v", err)
	}
	spec := &search.Spec{C: grid, Scoring: q.Get("scoring")}
	if f := q.Get("folds"); f != "" {
		if spec.Folds, err = strconv.Atoi(f); err != nil {
			return badRequest("folds: %s is not an integer", quote(f))
		}
	}
	p.Search = spec
	return nil
}
