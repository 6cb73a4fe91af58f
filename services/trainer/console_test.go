package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// apiRun is what the browser test reads of a run record.
type apiRun struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Version  string `json:"version"`
	Promoted bool   `json:"promoted"`
	Metrics  *struct {
		Accuracy float64 `json:"accuracy"`
		LogLoss  float64 `json:"log_loss"`
		MacroF1  float64 `json:"macro_f1"`
		Rows     int     `json:"rows"`
	} `json:"metrics"`
	Dataset struct {
		SHA256 string `json:"sha256"`
		Rows   int    `json:"rows"`
	} `json:"dataset"`
	History []struct {
		Iteration int `json:"iteration"`
	} `json:"history"`
}

// TestConsoleInChromium drives every console page in headless Chromium
// against a real trainer over versitygw: no console errors, the numbers
// the API answers, a promote click that moves the alias (asking for the
// token once), a 409 shown plainly, a live run page that follows a
// training held at known points of its load, and a comparison of three
// runs. It leaves a screenshot of each page in .data/console-screenshots.
func TestConsoleInChromium(t *testing.T) {
	const token, readToken = "console-test-token", "console-read-token"
	const slowKey = "datasets/slow.csv"
	s3 := s3test.Start(t)
	proxy := startGatedProxy(t, s3, "/modelferry/"+slowKey)
	addr := s3test.FreeAddr(t)
	tr := startTrainer(t, s3, addr, "S3_ENDPOINT", proxy.URL, "TRAINER_TOKEN", token, "TRAINER_READ_TOKEN", readToken)
	defer tr.stop()
	base := "http://" + addr

	train := func(query string) apiRun {
		t.Helper()
		var r apiRun
		if code := callAPI(t, "POST", base+"/train?wait=true&"+query, token, "", &r); code != 200 {
			t.Fatalf("train %s: %d %+v", query, code, r)
		}
		return r
	}
	good := train("")
	held := train("c=0.01&standardize=false&max_iter=20")
	all := train("c=10&test_fraction=0")
	if !good.Promoted || held.Promoted || all.Promoted {
		t.Fatalf("promotions: %v %v %v", good.Promoted, held.Promoted, all.Promoted)
	}
	b := newBrowser(t, base, token)

	t.Run("sign in", func(t *testing.T) {
		b := b.on(t)
		b.open("/ui/runs", "form.signin")
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(`form.signin input[name=token]`), readToken)); err != nil {
			t.Fatal(err)
		}
		b.click(`form.signin button[type=submit]`)
		b.waitFor("signed in, on the page asked for", `location.pathname == "/ui/runs" && !!document.getElementById("runs")`)
		b.clean("sign in")
	})

	t.Run("models", func(t *testing.T) {
		b := b.on(t)
		b.open("/ui/", "#models")
		row := `#models tr[data-model="iris"]`
		if got := b.text(row + ` td:nth-child(2)`); got != good.Version {
			t.Errorf("production %q, want %s", got, good.Version)
		}
		if got := b.text(row + ` td[data-field="accuracy"]`); got != f4(good.Metrics.Accuracy) {
			t.Errorf("production accuracy %q, want %s", got, f4(good.Metrics.Accuracy))
		}
		if got := b.text(row + ` td:nth-child(4)`); got != all.Version {
			t.Errorf("latest %q, want %s", got, all.Version)
		}
		if got := b.text(row + ` td:nth-child(7)`); got != "3" {
			t.Errorf("runs %q", got)
		}
		b.shot("models")
		b.clean("models")
	})

	t.Run("model: promote, roll back, integrity", func(t *testing.T) {
		b := b.on(t)
		var model struct{ Versions []string }
		callAPI(t, "GET", base+"/models/iris", token, "", &model)
		b.open("/ui/models/iris", "#versions")
		if n := eval[int](b, `document.querySelectorAll("#versions tbody tr").length`); n != len(model.Versions) {
			t.Errorf("%d version rows, the API lists %d", n, len(model.Versions))
		}
		b.shot("model")
		production := func() string {
			var m struct {
				Aliases map[string]struct{ Version string }
			}
			callAPI(t, "GET", base+"/models/iris", token, "", &m)
			return m.Aliases["production"].Version
		}
		promote := func(version string) {
			b.click(`#versions tr[data-version="` + version + `"] button[data-promote]`)
		}
		// The first PUT needs the token: asked once, then kept for the tab.
		promote(held.Version)
		b.waitFor("production row moved", `!!document.querySelector('#versions tr.current[data-version="`+held.Version+`"]')`)
		if p := production(); p != held.Version {
			t.Errorf("production %s after promoting %s", p, held.Version)
		}
		if d := b.takeDialogs(); strings.Join(d, " ") != "confirm prompt" {
			t.Errorf("dialogs %v, want a confirmation and the token prompt", d)
		}
		b.clean("model", "status of 401")
		promote(good.Version)
		b.waitFor("rolled back", `!!document.querySelector('#versions tr.current[data-version="`+good.Version+`"]')`)
		if p := production(); p != good.Version {
			t.Errorf("production %s after rolling back to %s", p, good.Version)
		}
		if d := b.takeDialogs(); strings.Join(d, " ") != "confirm" {
			t.Errorf("dialogs %v, want the confirmation alone", d)
		}
		// A corrupt artifact: the 409 is shown and production stays.
		if err := os.WriteFile(s3.Path("modelferry", "models/iris/versions/"+all.Version+"/model.pb"), []byte("rot"), 0o644); err != nil {
			t.Fatal(err)
		}
		promote(all.Version)
		b.waitFor("the 409 shown", `document.getElementById("notice").textContent.includes("409 integrity")`)
		if n := b.text("#notice"); !strings.Contains(n, "failed its integrity check") || !strings.Contains(n, "production was not moved") {
			t.Errorf("notice %q", n)
		}
		if p := production(); p != good.Version {
			t.Errorf("production %s after a refused promotion", p)
		}
		b.shot("model-409")
		b.clean("model", "status of 409")
	})

	t.Run("version", func(t *testing.T) {
		b := b.on(t)
		var v struct {
			SHA256 string
			Record struct {
				Metrics struct {
					Accuracy float64 `json:"accuracy"`
					LogLoss  float64 `json:"log_loss"`
					MacroF1  float64 `json:"macro_f1"`
				}
			}
		}
		callAPI(t, "GET", base+"/models/iris/versions/"+good.Version, token, "", &v)
		b.open("/ui/models/iris/versions/"+good.Version, "#sha256")
		for sel, want := range map[string]string{
			"#sha256": v.SHA256, "#features": "sepal_length, sepal_width, petal_length, petal_width",
			"#classes":                 "setosa, versicolor, virginica",
			`[data-metric="accuracy"]`: f4(v.Record.Metrics.Accuracy),
			`[data-metric="log_loss"]`: f4(v.Record.Metrics.LogLoss),
			`[data-metric="macro_f1"]`: f4(v.Record.Metrics.MacroF1),
		} {
			if got := b.text(sel); got != want {
				t.Errorf("%s: %q, want %q", sel, got, want)
			}
		}
		if !strings.Contains(b.text("#scaler-note"), "folded into the weights") {
			t.Error("the page does not say the scaler is folded in")
		}
		// Try it: the page's probabilities are the API's.
		eval[bool](b, `(() => { const xs = document.querySelectorAll("form.try input[name=x]");
			[6.7, 3.0, 5.2, 2.3].forEach((v, i) => { xs[i].value = v; }); return true; })()`)
		b.click(`form.try button[type=submit]`)
		b.waitFor("the try-it answer", `!!document.getElementById("try-label")`)
		var pred struct {
			Label         string
			Probabilities map[string]float64
		}
		callAPI(t, "POST", base+"/models/iris/versions/"+good.Version+"/predict", token,
			`{"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}`, &pred)
		if got := b.text("#try-label"); got != pred.Label {
			t.Errorf("label %q, the API says %q", got, pred.Label)
		}
		for class, p := range pred.Probabilities {
			if got := b.text(`#try-result td[data-class="` + class + `"]`); got != f4(p) {
				t.Errorf("p(%s) %q, the API says %s", class, got, f4(p))
			}
		}
		// The downloads work from the page: the browser's cookie carries
		// the read token.
		for _, link := range []string{"#download-artifact", "#download-dataset"} {
			status := eval[int](b, `fetch(document.querySelector("`+link+`").href).then(r => r.status)`, chromedp.EvalAwaitPromise)
			if status != 200 {
				t.Errorf("%s: %d", link, status)
			}
		}
		b.shot("version")
		b.clean("version")
	})

	t.Run("runs", func(t *testing.T) {
		b := b.on(t)
		var page struct{ Runs []apiRun }
		callAPI(t, "GET", base+"/runs", token, "", &page)
		b.open("/ui/runs", "#runs")
		ids := eval[[]string](b, `[...document.querySelectorAll("#runs tbody tr")].map(r => r.dataset.run)`)
		var want []string
		for _, r := range page.Runs {
			want = append(want, r.ID)
		}
		if strings.Join(ids, " ") != strings.Join(want, " ") {
			t.Errorf("rows %v, the API lists %v", ids, want)
		}
		b.open("/ui/runs?sort=log_loss", "#runs")
		best := page.Runs[0]
		for _, r := range page.Runs {
			if r.Metrics.LogLoss < best.Metrics.LogLoss {
				best = r
			}
		}
		if first := b.text("#runs tbody tr:first-child td:nth-child(2)"); first != best.ID {
			t.Errorf("lowest log loss first: %s, want %s", first, best.ID)
		}
		b.shot("runs")
		b.clean("runs")
	})

	t.Run("runs search, names and tags", func(t *testing.T) {
		b := b.on(t)
		if code := callAPI(t, "PATCH", base+"/runs/"+good.ID, token, `{"name":"the good one","tags":{"team":"fraud"}}`, nil); code != 200 {
			t.Fatalf("PATCH: %d", code)
		}
		b.open("/ui/runs", "#runs")
		// Typed into the box and submitted, as a user does.
		if err := chromedp.Do(b.ctx, chromedp.SetValue(`input[name="filter"]`, "tags.team = 'fraud' and metrics.accuracy > 0.5"),
			chromedp.Submit(`input[name="filter"]`)); err != nil {
			t.Fatal(err)
		}
		b.waitFor("the filtered page", `location.search.includes("filter=")`)
		b.open(eval[string](b, `location.pathname + location.search`), "#runs")
		ids := eval[[]string](b, `[...document.querySelectorAll("#runs tbody tr")].map(r => r.dataset.run)`)
		if strings.Join(ids, " ") != good.ID {
			t.Errorf("filtered rows %v, want %s", ids, good.ID)
		}
		if name := b.text(`#runs tbody tr td[data-field="name"]`); !strings.HasPrefix(name, "the good one") || !strings.Contains(name, "team=fraud") {
			t.Errorf("name cell %q", name)
		}
		b.shot("runs-search")
		b.clean("runs search")
		b.open("/ui/runs?filter="+url.QueryEscape("metrics.accuracy >> 0.9"), "#filter-error")
		if msg := b.text("#filter-error"); !strings.Contains(msg, "at column 19: expected a value") {
			t.Errorf("inline error %q", msg)
		}
		if v := eval[string](b, `document.querySelector('input[name="filter"]').value`); v != "metrics.accuracy >> 0.9" {
			t.Errorf("the box lost the filter: %q", v)
		}
		b.shot("runs-search-error")
		b.clean("runs search error", "400")
		b.open("/ui/runs/"+good.ID, "#run-name")
		if got := b.text("#run-name") + " " + b.text("#run-tags"); got != "the good one team=fraud" {
			t.Errorf("run page shows %q", got)
		}
		b.clean("run with name and tags")
	})

	t.Run("run", func(t *testing.T) {
		b := b.on(t)
		var r apiRun
		callAPI(t, "GET", base+"/runs/"+good.ID, token, "", &r)
		b.open("/ui/runs/"+good.ID, "#run-status")
		if got := b.text(`[data-metric="accuracy"]`); got != f4(r.Metrics.Accuracy) {
			t.Errorf("accuracy %q, want %s", got, f4(r.Metrics.Accuracy))
		}
		if n := eval[int](b, `document.querySelectorAll("svg.chart polyline").length`); n != 2 {
			t.Errorf("%d loss curves, want objective and gradient norm", n)
		}
		cells := eval[[]string](b, `[...document.querySelectorAll("svg.heat text.cv")].map(t => t.textContent)`)
		sum := 0
		for _, c := range cells {
			n, _ := strconv.Atoi(c)
			sum += n
		}
		if sum != r.Metrics.Rows {
			t.Errorf("confusion matrix counts %d rows, the metrics %d", sum, r.Metrics.Rows)
		}
		b.shot("run")
		b.clean("run")
	})

	t.Run("compare", func(t *testing.T) {
		b := b.on(t)
		b.open("/ui/compare?run="+good.ID+"&run="+held.ID+"&run="+all.ID, "#compare-params")
		if n := eval[int](b, `document.querySelectorAll("#compare-params thead th").length`); n != 4 {
			t.Errorf("%d columns, want a label and 3 runs", n)
		}
		diff := eval[[]string](b, `[...document.querySelectorAll("#compare-params tr.diff th")].map(t => t.firstChild.textContent.trim())`)
		if strings.Join(diff, " ") != "C max_iter test_fraction standardize" {
			t.Errorf("highlighted %v", diff)
		}
		// One per score row (accuracy, log loss, macro F1), between the two
		// runs scored on the same test set; none for duration or iterations.
		if n := eval[int](b, `document.querySelectorAll("#compare-metrics td.best").length`); n != 3 {
			t.Errorf("%d best marks, want one per score row", n)
		}
		if n := eval[int](b, `document.querySelectorAll(".row svg.heat").length`); n != 3 {
			t.Errorf("%d confusion matrices", n)
		}
		if n := eval[int](b, `document.querySelectorAll("svg.chart polyline").length`); n != 6 {
			t.Errorf("%d curves, want 3 runs × 2 charts", n)
		}
		b.shot("compare")
		b.clean("compare")
	})

	t.Run("datasets", func(t *testing.T) {
		b := b.on(t)
		b.open("/ui/datasets", "#datasets")
		row := `#d-` + good.Dataset.SHA256
		if got := b.text(row + ` td[data-field="filenames"]`); got != "iris.csv" {
			t.Errorf("name %q, want iris.csv", got)
		}
		if got := b.text(row + ` td:nth-child(4)`); got != "150" {
			t.Errorf("rows %q", got)
		}
		runs := b.text(row + ` td:nth-child(7)`)
		for _, r := range []apiRun{good, held, all} {
			if !strings.Contains(runs, r.ID) {
				t.Errorf("run %s not listed: %s", r.ID, runs)
			}
		}
		b.shot("datasets")
		b.clean("datasets")
	})

	t.Run("a live run advances", func(t *testing.T) {
		b := b.on(t)
		// A dataset in the bucket whose download the proxy holds.
		iris, err := os.ReadFile(repo.Iris(t))
		if err != nil {
			t.Fatal(err)
		}
		header, rows, _ := bytes.Cut(iris, []byte("\n"))
		data := append(append(header, '\n'), bytes.Repeat(rows, 100)...)
		store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey,
			SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.PutDataset(context.Background(), modelstore.SHA256(data), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		// Stored under a name of our own, which the proxy holds.
		if err := os.Rename(s3.Path("modelferry", "datasets/"+modelstore.SHA256(data)+".csv"), s3.Path("modelferry", slowKey)); err != nil {
			t.Fatal(err)
		}
		var run apiRun
		if code := callAPI(t, "POST", base+"/train", token, `{"dataset": "`+slowKey+`"}`, &run); code != 202 {
			t.Fatalf("train: %d", code)
		}
		total := float64(len(data))
		b.open("/ui/runs/"+run.ID, ".live-panel")
		b.waitFor("loading", `document.querySelector('.live-panel [data-field="stage"]').textContent == "loading"`)
		eval[int](b, `window.stillThisPage = 1`)
		// The S3 client fills the parser's 64 KiB buffer before it returns:
		// progress moves in such steps.
		proxy.allow(64 << 10)
		b.waitFor("the first 64 KiB loaded", `document.querySelector('[data-field="load"]').value == `+strconv.FormatFloat((64<<10)/total, 'g', -1, 64))
		if got := b.text(`.live-panel [data-field="bytes"]`); !strings.HasPrefix(got, "64.0 KiB of ") {
			t.Errorf("bytes %q", got)
		}
		if eval[int](b, `window.stillThisPage`) != 1 {
			t.Error("the page reloaded instead of updating")
		}
		b.shot("run-live")

		// The runs page follows it too.
		b.open("/ui/runs", `#runs tr[data-live-run="`+run.ID+`"]`)
		row := `#runs tr[data-live-run="` + run.ID + `"]`
		before := b.text(row + ` [data-field="bytes"]`)
		proxy.allow(128 << 10)
		b.waitFor("the runs page advanced", `document.querySelector('`+row+` [data-field="bytes"]').textContent != "`+before+`"`)
		b.shot("runs-live")

		b.open("/ui/runs/"+run.ID, ".live-panel")
		eval[int](b, `window.stillThisPage = 1`)
		proxy.allow(-1)
		// The run ends: the page reloads itself into the finished run.
		b.waitFor("finished", `!window.stillThisPage && document.querySelector("#run-status").textContent.trim() == "succeeded"`)
		var done apiRun
		callAPI(t, "GET", base+"/runs/"+run.ID, token, "", &done)
		if got := b.text(`[data-metric="accuracy"]`); done.Status != "succeeded" || got != f4(done.Metrics.Accuracy) {
			t.Errorf("finished run %s, accuracy %q want %s", done.Status, got, f4(done.Metrics.Accuracy))
		}
		if done.Dataset.Rows != 15000 || len(done.History) == 0 {
			t.Errorf("finished run: %d rows, %d history points", done.Dataset.Rows, len(done.History))
		}
		b.clean("live run")
	})

	t.Run("a run is cancelled from its page", func(t *testing.T) {
		b := b.on(t)
		proxy.hold()
		var run apiRun
		if code := callAPI(t, "POST", base+"/train", token, `{"dataset": "`+slowKey+`"}`, &run); code != 202 {
			t.Fatalf("train: %d", code)
		}
		b.open("/ui/runs/"+run.ID, ".live-panel")
		b.waitFor("loading", `document.querySelector('.live-panel [data-field="stage"]').textContent == "loading"`)
		b.takeDialogs()
		b.click("button[data-cancel]")
		b.waitFor("cancelled", `document.querySelector("#run-status").textContent.trim() == "cancelled"`)
		var done apiRun
		callAPI(t, "GET", base+"/runs/"+run.ID, token, "", &done)
		if done.Status != "cancelled" || done.Version != "" {
			t.Errorf("run %s, version %q", done.Status, done.Version)
		}
		if d := b.takeDialogs(); strings.Join(d, " ") != "confirm" {
			t.Errorf("dialogs %v", d)
		}
		b.shot("run-cancelled")
		b.clean("cancelled run")
	})
}
