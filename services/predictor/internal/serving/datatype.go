package serving

import (
	"strings"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

// Datatype is an Open Inference Protocol tensor datatype a model reads.
type Datatype uint8

// The datatypes inputs may have.
const (
	FP32 Datatype = iota + 1
	FP64
)

var datatypeNames = map[string]Datatype{"FP32": FP32, "FP64": FP64}

func (dt Datatype) String() string {
	for n, d := range datatypeNames {
		if d == dt {
			return n
		}
	}
	return "unknown"
}

// ParseDatatype finds the datatype of an OIP name.
func ParseDatatype(name string) (Datatype, bool) {
	dt, ok := datatypeNames[strings.ToUpper(name)]
	return dt, ok
}

func parseDatatype(in *inferInput, name []byte) (Datatype, error) {
	// The usual spellings without converting name to a string.
	switch string(name) {
	case "FP32":
		return FP32, nil
	case "FP64":
		return FP64, nil
	}
	dt, ok := ParseDatatype(string(name))
	if !ok {
		return 0, inputErr(in, "datatype %s is not supported; use FP32 or FP64", httpserver.Quote(string(name)))
	}
	return dt, nil
}
