package serving

import (
	"math"
	"strings"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// Datatype is an Open Inference Protocol tensor datatype a model reads.
// Every one converts exactly to the float64 the model computes with:
// integers up to 2^53 in magnitude, BOOL as 0 or 1.
type Datatype uint8

// The datatypes inputs may have.
const (
	FP32 Datatype = iota + 1
	FP64
	INT8
	INT16
	INT32
	INT64
	UINT8
	UINT16
	UINT32
	UINT64
	BOOL
	// BYTES carries a tabular model's categorical column; ParseDatatype
	// does not return it.
	BYTES
)

var datatypeNames = [...]string{FP32: "FP32", FP64: "FP64", INT8: "INT8", INT16: "INT16", INT32: "INT32", INT64: "INT64",
	UINT8: "UINT8", UINT16: "UINT16", UINT32: "UINT32", UINT64: "UINT64", BOOL: "BOOL"}

func (dt Datatype) String() string {
	if int(dt) < len(datatypeNames) && datatypeNames[dt] != "" {
		return datatypeNames[dt]
	}
	if dt == BYTES {
		return "BYTES"
	}
	return "unknown"
}

// ParseDatatype finds the datatype of an OIP name (FP16 and BYTES are
// not read).
func ParseDatatype(name string) (Datatype, bool) {
	name = strings.ToUpper(name)
	for dt, n := range datatypeNames {
		if n != "" && n == name {
			return Datatype(dt), true
		}
	}
	return 0, false
}

// Size is the bytes of one element in raw tensor contents.
func (dt Datatype) Size() int {
	switch dt {
	case INT8, UINT8, BOOL:
		return 1
	case INT16, UINT16:
		return 2
	case FP32, INT32, UINT32:
		return 4
	}
	return 8
}

// Integer reports whether the datatype holds integers, and their range
// as float64: the type's own, within ±2^53 so that every one converts
// exactly.
func (dt Datatype) Integer() (lo, hi float64, ok bool) {
	const exact = 1 << 53
	switch dt {
	case INT8:
		return math.MinInt8, math.MaxInt8, true
	case INT16:
		return math.MinInt16, math.MaxInt16, true
	case INT32:
		return math.MinInt32, math.MaxInt32, true
	case INT64:
		return -exact, exact, true
	case UINT8:
		return 0, math.MaxUint8, true
	case UINT16:
		return 0, math.MaxUint16, true
	case UINT32:
		return 0, math.MaxUint32, true
	case UINT64:
		return 0, exact, true
	}
	return 0, 0, false
}

// Check says why v is not a value of the datatype, or "" when it is.
func (dt Datatype) Check(v float64) string {
	if lo, hi, ok := dt.Integer(); ok {
		switch {
		case v != math.Trunc(v):
			return "is not an integer"
		case v < lo || v > hi:
			if dt == INT64 || dt == UINT64 {
				return "is out of the range a model reads exactly (integers up to 2^53)"
			}
			return "is out of range for " + dt.String()
		}
		return ""
	}
	if dt == FP32 && math.Abs(v) > math.MaxFloat32 {
		return "is out of range for FP32"
	}
	return ""
}

func (m *Model) parseDatatype(in *inferInput, name []byte) (Datatype, error) {
	// The usual spellings without converting name to a string.
	switch string(name) {
	case "FP32":
		return FP32, nil
	case "FP64":
		return FP64, nil
	case "BYTES":
		if m.enc != nil {
			return BYTES, nil
		}
	}
	dt, ok := ParseDatatype(string(name))
	if !ok {
		return 0, inputErr(in, "datatype %s is not supported; use FP32, FP64, INT8 to INT64, UINT8 to UINT64 or BOOL", names.Quote(string(name)))
	}
	return dt, nil
}
