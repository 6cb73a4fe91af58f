package api

import (
	"net/url"
	"strings"
	"testing"
)

// TestErrorsQuoteLittleOfTheInput is the regression test of inputs echoed
// whole: 1 MB in each field of each route gets an error that quotes at
// most about 100 bytes of it.
func TestErrorsQuoteLittleOfTheInput(t *testing.T) {
	e := newAPIConfig(t, func(c *Config) {})
	big := strings.Repeat("a", 1<<20)
	num := "1" + strings.Repeat("0", 1<<20)
	seedWith := func(kv string) string { return strings.TrimSuffix(seed, "}") + ", " + kv + "}" }
	oip := func(input string) string { return `{"inputs":[` + input + `]}` }
	for _, tc := range []struct{ name, method, target, body string }{
		{"/predict unknown key", "POST", "/predict", seedWith(`"` + big + `": 1`)},
		{"/predict number", "POST", "/predict", `{"sepal_length": ` + num + `, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`},
		{"/predict string value", "POST", "/predict", `{"sepal_length": "` + big + `", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`},
		{"/predict batch unknown key", "POST", "/predict", `{"instances": [` + seedWith(`"`+big+`": 1`) + `]}`},
		{"/predict model", "POST", "/predict?model=" + big, seed},
		{"/predict top-level key", "POST", "/predict", `{"` + big + `": [` + seed + `]}`},
		{"/predict bare word", "POST", "/predict", big},
		{"V1 model", "POST", "/v1/models/" + big + ":predict", `{"instances": [[5.1, 3.5, 1.4, 0.2]]}`},
		{"V1 verb", "POST", "/v1/models/iris:" + big, `{"instances": [[5.1, 3.5, 1.4, 0.2]]}`},
		{"V1 number", "POST", "/v1/models/iris:predict", `{"instances": [[` + num + `, 3.5, 1.4, 0.2]]}`},
		{"V1 unknown key", "POST", "/v1/models/iris:predict", `{"` + big + `": 1}`},
		{"OIP model", "POST", "/v2/models/" + big + "/infer", oip(`{"name":"input","shape":[1,4],"datatype":"FP64","data":[1,2,3,4]}`)},
		{"OIP version", "POST", "/v2/models/iris/versions/" + big + "/infer", oip(`{"name":"input","shape":[1,4],"datatype":"FP64","data":[1,2,3,4]}`)},
		{"OIP metadata", "GET", "/v2/models/" + big, ""},
		{"OIP ready", "GET", "/v2/models/" + big + "/ready", ""},
		{"OIP input name", "POST", "/v2/models/iris/infer", oip(`{"name":"` + big + `","shape":[1,1],"datatype":"FP64","data":[1]}`)},
		{"OIP datatype", "POST", "/v2/models/iris/infer", oip(`{"name":"input","shape":[1,4],"datatype":"` + big + `","data":[1,2,3,4]}`)},
		{"OIP number", "POST", "/v2/models/iris/infer", oip(`{"name":"input","shape":[1,4],"datatype":"FP64","data":[` + num + `,2,3,4]}`)},
		{"OIP shape", "POST", "/v2/models/iris/infer", oip(`{"name":"input","shape":[` + num + `,4],"datatype":"FP64","data":[1,2,3,4]}`)},
		{"OIP unknown key", "POST", "/v2/models/iris/infer", oip(`{"name":"input","shape":[1,4],"datatype":"FP64","data":[1,2,3,4],"` + big + `":1}`)},
		{"OIP top-level key", "POST", "/v2/models/iris/infer", `{"` + big + `": 1}`},
		{"OIP output name", "POST", "/v2/models/iris/infer", `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[1,2,3,4]}],"outputs":[{"name":"` + big + `"}]}`},
		{"OIP parameter", "POST", "/v2/models/iris/infer", `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[1,2,3,4],"parameters":{"` + big + `":1}}]}`},
		{"OIP id", "POST", "/v2/models/iris/infer", `{"id":` + num + `,"inputs":[]}`},
		{"repository index", "POST", "/v2/repository/index", `{"` + big + `": 1}`},
		{"404 path", "GET", "/" + big, ""},
		{"405 path", "DELETE", "/predict" + big, ""},
		{"model query", "GET", "/model?model=" + url.QueryEscape(big), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(e, tc.method, tc.target, "application/json", tc.body)
			if w.Code >= 400 && w.Body.Len() > 1000 {
				t.Errorf("%d, %d bytes: %.300s", w.Code, w.Body.Len(), w.Body)
			}
		})
	}
}
