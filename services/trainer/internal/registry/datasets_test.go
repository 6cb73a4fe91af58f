package registry

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

func TestDatasetsShowTheirRuns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	put := func(data string) string {
		sum := modelstore.SHA256([]byte(data))
		if _, err := f.store.PutDataset(ctx, sum, bytes.NewReader([]byte(data)), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	used := put("a,label\n1,x\n2,y\n")
	reused := put("b,label\n1,x\n2,y\n3,z\n")
	unused := put("c,label\n1,x\n")
	info := func(sum string, rows int) DatasetInfo {
		return DatasetInfo{SHA256: sum, Rows: rows, Features: []string{"f"}, Classes: []string{"x", "y"}}
	}
	saveRuns(t, f,
		Run{ID: version(1), Model: "iris", Status: StatusSucceeded, Dataset: info(reused, 3)},
		Run{ID: version(2), Model: "wine", Status: StatusFailed, Dataset: info(used, 2)},
		Run{ID: version(3), Model: "iris", Status: StatusSucceeded, Dataset: info(reused, 3)},
		Run{ID: version(4), Model: "iris", Status: StatusFailed, Error: &RunError{Code: errcode.InvalidArgument, Message: "bad"}},
	)
	got, err := f.reg.Datasets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range got {
		order = append(order, d.SHA256)
	}
	if !slices.Equal(order, []string{reused, used, unused}) {
		t.Fatalf("order %v, want the most recently used first", order)
	}
	if d := got[0]; !slices.Equal(d.Runs, []string{version(3), version(1)}) || d.Rows != 3 || d.Bytes != 20 ||
		d.URI != "s3://modelferry/datasets/"+reused+".csv" {
		t.Errorf("reused dataset %+v", d)
	}
	if d := got[2]; len(d.Runs) != 0 || d.Rows != 0 || d.Runs == nil {
		t.Errorf("unused dataset %+v", d)
	}
}
