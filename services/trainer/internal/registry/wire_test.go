package registry

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/client"
)

// TestClientTypesReadTheTrainersDocuments holds pkg/client's wire types to
// the documents the trainer writes: a trainer document with every field
// set decodes into the client's type with every client field set (a field
// renamed or retyped on one side leaves it empty or fails), and what the
// client read re-encodes to the same values the trainer wrote.
func TestClientTypesReadTheTrainersDocuments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trainer any
		client  any
		// fields of the client's type that the document does not carry
		// (they come from elsewhere, as the event stream's status)
		absent []string
	}{
		{"run", &Run{}, &client.Run{}, []string{"Progress.Status", "Progress.QueuePosition"}},
		{"model summary", &ModelSummary{}, &client.ModelSummary{}, nil},
		{"model", &ModelView{}, &client.Model{}, nil},
		{"version", &VersionView{}, &client.Version{}, nil},
		{"alias change", &AliasChange{}, &client.AliasChange{}, nil},
		{"dataset", &DatasetView{}, &client.StoredDataset{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fill(reflect.ValueOf(tc.trainer).Elem())
			wrote, err := json.Marshal(tc.trainer)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wrote, tc.client); err != nil {
				t.Fatalf("the client cannot read the trainer's %s: %v\n%s", tc.name, err, wrote)
			}
			absent := map[string]bool{}
			for _, f := range tc.absent {
				absent[f] = true
			}
			for _, path := range empty(reflect.ValueOf(tc.client).Elem(), "") {
				if !absent[path] {
					t.Errorf("client field %s stays empty: the trainer's document has no such field", path)
				}
			}
			read, err := json.Marshal(tc.client)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(wrote, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(read, &got); err != nil {
				t.Fatal(err)
			}
			if path, ok := subset(got, want, ""); !ok {
				t.Errorf("the client re-encodes %s differently from the trainer\nclient:  %s\ntrainer: %s", path, read, wrote)
			}
		})
	}
}

// fill sets every settable field of v to a value that is not zero.
func fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(3)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(3)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	}
}

// empty lists the paths of the zero fields of v, a struct.
func empty(v reflect.Value, prefix string) []string {
	if v.Type() == reflect.TypeFor[time.Time]() {
		if v.Interface().(time.Time).IsZero() {
			return []string{prefix}
		}
		return nil
	}
	if v.Kind() == reflect.Struct && v.Type().Implements(reflect.TypeFor[json.Marshaler]()) {
		// A value with its own JSON form (a search grid is a list or a
		// logspace, never both) is whole or empty.
		if v.IsZero() {
			return []string{prefix}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			path := f.Name
			if prefix != "" {
				path = prefix + "." + f.Name
			}
			out = append(out, empty(v.Field(i), path)...)
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return []string{prefix}
		}
		return empty(v.Elem(), prefix)
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{prefix}
		}
		if v.Kind() == reflect.Slice {
			return empty(v.Index(0), prefix)
		}
		return empty(v.MapIndex(v.MapKeys()[0]), prefix)
	}
	if v.IsZero() {
		return []string{prefix}
	}
	return nil
}

// subset reports whether every value in got is in want at the same place,
// and where it is not.
func subset(got, want any, path string) (string, bool) {
	switch g := got.(type) {
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			return path, false
		}
		for k, gv := range g {
			wv, ok := w[k]
			if !ok {
				return path + "." + k, false
			}
			if p, ok := subset(gv, wv, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		w, ok := want.([]any)
		if !ok || len(w) != len(g) {
			return path, false
		}
		for i := range g {
			if p, ok := subset(g[i], w[i], path); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(got, want)
}
