package runfilter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// run is a Record for tests.
type run map[string]Value

func (r run) Value(f Field) (Value, bool) {
	v, ok := r[f.Entity.String()+"."+f.Key]
	return v, ok
}

func num(v float64) Value { return Value{Num: v, IsNum: true} }
func str(s string) Value  { return Value{Str: s} }
func testSchema() Schema {
	return Schema{
		Metrics:    []string{"accuracy", "log_loss"},
		Params:     []string{"c", "max_iter"},
		Attributes: map[string]Kind{"status": String, "run_name": String, "start_time": Number},
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Cond
	}{
		{"empty", "  ", nil},
		{"the issue's example", "metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud' and attributes.status = 'succeeded'", []Cond{
			{Field{Metric, "accuracy", 0}, Gt, []Literal{{Str: "0.9", Num: 0.9, IsNum: true, Pos: 19}}},
			{Field{Param, "c", 27}, Eq, []Literal{{Str: "1", Pos: 38}}},
			{Field{Tag, "team", 46}, Eq, []Literal{{Str: "fraud", Pos: 58}}},
			{Field{Attribute, "status", 70}, Eq, []Literal{{Str: "succeeded", Pos: 90}}},
		}},
		{"aliases, case and double quotes", `METRIC.log_loss<=-1e-3 AND param.c != "x"`, []Cond{
			{Field{Metric, "log_loss", 0}, Le, []Literal{{Str: "-1e-3", Num: -1e-3, IsNum: true, Pos: 17}}},
			{Field{Param, "c", 27}, Ne, []Literal{{Str: "x", Pos: 38}}},
		}},
		{"quoted names and doubled quotes", "tags.`owner email` LIKE '%it''s%' and tags.\"a.b\" ILIKE 'X_'", []Cond{
			{Field{Tag, "owner email", 0}, Like, []Literal{{Str: "%it's%", Pos: 24}}},
			{Field{Tag, "a.b", 38}, ILike, []Literal{{Str: "X_", Pos: 55}}},
		}},
		{"in and not in", "attributes.status IN ('failed','cancelled') and run.run_name not in ('a')", []Cond{
			{Field{Attribute, "status", 0}, In, []Literal{{Str: "failed", Pos: 22}, {Str: "cancelled", Pos: 31}}},
			{Field{Attribute, "run_name", 48}, NotIn, []Literal{{Str: "a", Pos: 69}}},
		}},
		{"<> is !=", "metrics.accuracy <> .5", []Cond{
			{Field{Metric, "accuracy", 0}, Ne, []Literal{{Str: ".5", Num: .5, IsNum: true, Pos: 20}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Conds, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, f.Conds, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		want string
	}{
		{"metrics.accuracy", 17, "expected a comparator"},
		{"metrics.accuracy > ", 20, "expected a value"},
		{"metrics.accuracy > 0.9 and", 27, "expected an identifier"},
		{"metrics.accuracy > 0.9 or params.c = '1'", 24, "OR is not supported"},
		{"metrics.accuracy > 0.9 params.c = '1'", 24, "expected AND or the end"},
		{"accuracy > 0.9", 1, "starting metrics., params., tags. or attributes."},
		{"metrics accuracy > 0.9", 9, `expected "." and a name`},
		{"metrics. > 0.9", 10, "expected a name"},
		{"params.c = 1x", 12, "expected a number"},
		{"params.c = 'open", 12, "never closed"},
		{"params.c = fraud", 12, "in quotes: 'fraud'"},
		{"params.c ! '1'", 10, "not equal is !="},
		{"params.c IN 'a'", 13, `expected "("`},
		{"params.c IN ('a' 'b')", 18, `expected "," or ")"`},
		{"params.c NOT LIKE 'a'", 14, "expected IN after NOT"},
		{"params.c = '1' ; drop", 16, "unexpected character"},
		{"params.`` = '1'", 8, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", tt.in, err)
			}
			if e.Pos != tt.col || !strings.Contains(e.Message, tt.want) {
				t.Errorf("Parse(%q) = %v, want column %d and %q", tt.in, err, tt.col, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		in, want string // want "" means the filter checks
	}{
		{"metrics.accuracy > 0.9 and params.c = '1' and tags.anything LIKE 'x%' and attributes.start_time >= 5", ""},
		{"metrics.accuracy > '0.9'", "is a number: compare it with a number"},
		{"params.c = 1", "is a string: quote the value, as in params.c = '1'"},
		{"metrics.accuracy LIKE 1", "not LIKE"},
		{"params.c > '1'", "not >"},
		{"metrics.acc > 1", `unknown metric "acc": runs have accuracy, log_loss`},
		{"params.C = '1'", `unknown parameter "C"`},
		{"attributes.owner = 'x'", `unknown attribute "owner": runs have run_name, start_time, status`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Check(testSchema())
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	r := run{"metrics.accuracy": num(0.95), "params.c": str("1"), "tags.team": str("Fraud-Ops"), "attributes.status": str("succeeded")}
	tests := []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"metrics.accuracy > 0.9", true},
		{"metrics.accuracy > 0.95", false},
		{"metrics.accuracy >= 0.95", true},
		{"metrics.accuracy < 0.95", false},
		{"metrics.accuracy <= 0.95", true},
		{"metrics.accuracy = 0.95", true},
		{"metrics.accuracy != 0.95", false},
		{"params.c = '1'", true},
		{"params.c = '1.0'", false},
		{"params.c != '2'", true},
		{"tags.team LIKE 'Fraud%'", true},
		{"tags.team LIKE 'fraud%'", false},
		{"tags.team ILIKE 'fraud%'", true},
		{"tags.team LIKE 'Fraud_Ops'", true},
		{"tags.team LIKE '%Ops'", true},
		{"tags.team LIKE '%Op'", false},
		{"attributes.status IN ('failed', 'succeeded')", true},
		{"attributes.status NOT IN ('failed', 'succeeded')", false},
		{"attributes.status NOT IN ('failed')", true},
		{"tags.missing != 'x'", false}, // a run without the tag matches no condition on it
		{"metrics.log_loss < 10", false},
		{"metrics.accuracy > 0.9 and params.c = '2'", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(r); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"", "", true}, {"", "%", true}, {"a", "", false}, {"abc", "a%c", true}, {"abc", "a%b", false},
		{"abcbc", "%bc", true}, {"aXbXc", "a%b%c", true}, {"ü", "_", true}, {"üx", "_", false},
		{"mississippi", "%iss%ppi", true}, {"aaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%c", false},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.p, false); got != tt.want {
			t.Errorf("like(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

func TestOrderBy(t *testing.T) {
	keys, err := ParseOrderBy("metrics.accuracy DESC, params.c, attributes.start_time asc")
	if err != nil {
		t.Fatal(err)
	}
	want := []OrderKey{{Field{Metric, "accuracy", 0}, true}, {Field{Param, "c", 23}, false}, {Field{Attribute, "start_time", 33}, false}}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("ParseOrderBy = %+v, want %+v", keys, want)
	}
	if _, err := ParseOrderBy("metrics.accuracy DOWN"); err == nil || !strings.Contains(err.Error(), "at column 18: expected ASC, DESC") {
		t.Fatalf("ParseOrderBy(DOWN) = %v", err)
	}
	a, b, none := run{"metrics.accuracy": num(0.8)}, run{"metrics.accuracy": num(0.9)}, run{}
	byName := func(x, y run) int { return 0 }
	for _, tc := range []struct {
		name  string
		keys  []OrderKey
		items []run
		want  []run
	}{
		{"DESC puts the larger first", keys[:1], []run{a, none, b}, []run{b, a, none}},
		{"ASC the smaller, missing last", []OrderKey{{Field: Field{Entity: Metric, Key: "accuracy"}}}, []run{none, b, a}, []run{a, b, none}},
		{"second key breaks ties", []OrderKey{{Field: Field{Entity: Tag, Key: "t"}}, {Field: Field{Entity: Metric, Key: "accuracy"}, Desc: true}},
			[]run{{"tags.t": str("x"), "metrics.accuracy": num(1)}, {"tags.t": str("x"), "metrics.accuracy": num(2)}, {"tags.t": str("a")}},
			[]run{{"tags.t": str("a")}, {"tags.t": str("x"), "metrics.accuracy": num(2)}, {"tags.t": str("x"), "metrics.accuracy": num(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Sort(tc.keys, tc.items, byName)
			if !reflect.DeepEqual(tc.items, tc.want) {
				t.Errorf("Sort = %v, want %v", tc.items, tc.want)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	got, err := ParseFields("attributes.run_id, metrics.accuracy,tags.`a b`")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Attribute, "run_id", 0}, {Metric, "accuracy", 19}, {Tag, "a b", 36}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFields = %+v, want %+v", got, want)
	}
	if _, err := ParseFields("metrics.accuracy DESC"); err == nil || !strings.Contains(err.Error(), `at column 18: expected "," or the end of the columns`) {
		t.Errorf("ParseFields(DESC) = %v", err)
	}
}
