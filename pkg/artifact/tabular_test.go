package artifact

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// tabularSample is a model of a numeric column with an indicator and a
// categorical column of two categories and an infrequent one: a row of
// 2 dense features and 3 levels.
func tabularSample() *artifactpb.Model {
	m := sample()
	m.FeatureNames = []string{"income", "color"}
	m.ClassNames = []string{"no", "yes"}
	m.Tabular = &artifactpb.Tabular{
		NaValues:    []string{"", "NA"},
		RowsSkipped: 2,
		Columns: []*artifactpb.Column{
			{Name: "income", Type: "numeric", MissingShare: 0.1, Impute: 40, Indicator: true},
			{Name: "color", Type: "categorical", MissingShare: 0.05, Categories: []string{"blue", "red"},
				Shares: []float64{0.4, 0.5}, Infrequent: []string{"green"}, InfrequentShare: 0.1},
		},
	}
	m.Linear = &artifactpb.LinearModel{Rows: 1, Cols: 5, Coefficients: []float64{1, 2, 0.5, -0.5, 3}, Intercepts: []float64{0.25}}
	m.Scaler = &artifactpb.Scaler{Mean: []float64{40, 0}, Scale: []float64{10, 1}}
	return m
}

func TestTabularRoundTrip(t *testing.T) {
	b, err := Encode(tabularSample())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, tabularSample()) {
		t.Fatalf("decoded %v", m)
	}
	c, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Transform(m).Encoder()
	if err != nil {
		t.Fatal(err)
	}
	x, codes := make([]float64, enc.Dense()), make([]int32, enc.Codes())
	enc.Missing(0, x, codes)           // income imputed 40 (standardized 0), indicator 1
	_ = enc.Text(1, "green", x, codes) // the infrequent level
	p := make([]float64, 2)
	c.PredictProbaCodes(x, codes, p)
	z := 0.25 + 2*1 + 3
	if want := 1 / (1 + math.Exp(-z)); math.Abs(p[1]-want) > 1e-12 {
		t.Errorf("p(yes) = %v, want %v", p[1], want)
	}
}

func TestTabularInvalid(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(m *artifactpb.Model)
	}{
		{"columns and inputs differ", func(m *artifactpb.Model) { m.FeatureNames = []string{"income", "colour"} }},
		{"fewer columns", func(m *artifactpb.Model) { m.Tabular.Columns = m.Tabular.Columns[:1] }},
		{"unknown type", func(m *artifactpb.Model) { m.Tabular.Columns[1].Type = "text" }},
		{"shares and categories differ", func(m *artifactpb.Model) { m.Tabular.Columns[1].Shares = []float64{1} }},
		{"category twice", func(m *artifactpb.Model) { m.Tabular.Columns[1].Infrequent = []string{"red"} }},
		{"imputed value not finite", func(m *artifactpb.Model) { m.Tabular.Columns[0].Impute = math.Inf(1) }},
		{"coefficients miss a level", func(m *artifactpb.Model) {
			m.Tabular.Columns[1].Infrequent, m.Tabular.Columns[1].InfrequentShare = nil, 0
		}},
		{"numeric column with categories", func(m *artifactpb.Model) { m.Tabular.Columns[0].Categories = []string{"a"} }},
		{"missing share above one", func(m *artifactpb.Model) { m.Tabular.Columns[0].MissingShare = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tabularSample()
			tc.break_(m)
			if _, err := Encode(m); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Encode = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestTabularFromTransform(t *testing.T) {
	tr := Transform(tabularSample())
	got := TabularFrom(tr, 2, nil)
	if !proto.Equal(got, tabularSample().Tabular) {
		t.Errorf("TabularFrom(Transform(m)) = %v, want %v", got, tabularSample().Tabular)
	}
	if tr.Columns[1].Type != tabular.Categorical || tr.Columns[1].Levels() != 3 {
		t.Errorf("color column: %+v", tr.Columns[1])
	}
}
