package api

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// A dataset keeps the name it was uploaded under: the multipart part's
// filename, the filename parameter (the last element of a path), or the
// default dataset's file; the run record and the dataset listing show it.
func TestDatasetKeepsItsOriginalName(t *testing.T) {
	e := newEnv(t)
	csv, err := os.ReadFile(repo.Path(t, "data/iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	multi := func(filename string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		w, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(csv)
		_ = mw.Close()
		return &b, mw.FormDataContentType()
	}
	for _, tc := range []struct {
		name, target, ct string
		body             func() *bytes.Buffer
		want             string
	}{
		{"multipart", "/train?wait=true", "", nil, "iris (copy).csv"},
		{"query", "/train?wait=true&filename=" + "exports%2F2026%2Fflowers.csv", "text/csv", func() *bytes.Buffer { return bytes.NewBuffer(csv) }, "flowers.csv"},
		{"multipart renamed", "/train?wait=true&filename=renamed.csv", "", nil, "renamed.csv"},
		{"default dataset", "/train?wait=true", "", nil, "iris.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp response
			switch {
			case tc.body != nil:
				resp = e.do("POST", tc.target, tc.ct, tc.body())
			case tc.name == "default dataset":
				resp = e.do("POST", tc.target, "", nil)
			default:
				b, ct := multi("iris (copy).csv")
				resp = e.do("POST", tc.target, ct, b)
			}
			if resp.code != 200 {
				t.Fatalf("%d %s", resp.code, resp.body)
			}
			if run := resp.run(t); run.Status != registry.StatusSucceeded || run.Dataset.Filename != tc.want {
				t.Errorf("run %s, dataset.filename %q; want succeeded, %q", run.Status, run.Dataset.Filename, tc.want)
			}
		})
	}
	resp := e.do("GET", "/datasets", "", nil)
	var list struct {
		Datasets []registry.DatasetView `json:"datasets"`
	}
	if err := json.Unmarshal(resp.body, &list); err != nil || len(list.Datasets) != 1 {
		t.Fatalf("%s: %v", resp.body, err)
	}
	// Newest first, each once.
	if got, want := list.Datasets[0].Filenames, []string{"iris.csv", "renamed.csv", "flowers.csv", "iris (copy).csv"}; !slices.Equal(got, want) {
		t.Errorf("filenames %q, want %q", got, want)
	}
}

func TestBadFilenameIsRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, target, ct, body, want string
	}{
		{"control character", "/train?filename=a%07b.csv", "text/csv", "a,b\n1,x\n", "printable UTF-8"},
		{"too long", "/train?filename=" + strings.Repeat("x", 256), "text/csv", "a,b\n1,x\n", "at most 255 bytes"},
		{"no upload", "/train?filename=x.csv", "", "", "filename names an uploaded CSV"},
		{"bucket dataset", "/train?filename=x.csv", "application/json", `{"dataset": "datasets/x.csv"}`, "filename names an uploaded CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, tc.ct, strings.NewReader(tc.body))
			if resp.code != 400 || !strings.Contains(string(resp.body), tc.want) || !strings.Contains(string(resp.body), `"invalid_argument"`) {
				t.Errorf("%d %s; want 400 saying %q", resp.code, resp.body, tc.want)
			}
		})
	}
}
