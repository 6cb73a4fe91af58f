package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseChunk parses c's records into the matrix rows from c.rowStart on.
// It stops at the first error, which it leaves in c.err.
func (p *parser) parseChunk(c *chunk) {
	w := chunkWriter{p: p, c: c, classes: map[string]int32{}}
	if c.quoted {
		w.parseCSV()
	} else {
		w.parsePlain()
	}
	c.data = nil
}

type chunkWriter struct {
	p       *parser
	c       *chunk
	classes map[string]int32 // label → index into c.labels
}

// parsePlain splits records at newlines and fields at commas: without a
// quote in the chunk that is all encoding/csv would do. A feature that is a
// plain decimal is converted as it is scanned; any other field is cut at
// the next comma first.
func (w *chunkWriter) parsePlain() {
	data := w.c.data
	line := w.c.firstLine
	ncols := len(w.p.header)
	for ; len(data) > 0; line++ {
		var rec []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			rec, data = data[:i], data[i+1:]
		} else {
			rec, data = data, nil
		}
		if n := len(rec); n > 0 && rec[n-1] == '\r' {
			rec = rec[:n-1]
		}
		if len(rec) == 0 {
			continue // encoding/csv skips blank lines
		}
		out := w.row()
		var label []byte
		var err error
		pos, j, col := 0, 0, 0
		for ; col < ncols && err == nil; col++ {
			if pos > len(rec) {
				break // fewer fields than the header
			}
			rest := rec[pos:]
			end := -1
			if col != w.p.label {
				if v, n, ok := scanDecimal(rest); ok && (n == len(rest) || rest[n] == ',') {
					out[j], end = v, n
				}
			}
			if end < 0 {
				if end = bytes.IndexByte(rest, ','); end < 0 {
					end = len(rest)
				}
				field := rest[:end]
				if len(field) > 0 && trimSpaceStart(field[0]) {
					field = bytes.TrimLeftFunc(field, unicode.IsSpace)
				}
				if col == w.p.label {
					label = field
				} else if out[j], err = parseNumber(field); err != nil {
					err = &ParseError{Line: line, Column: w.p.header[col], Msg: err.Error()}
				}
			}
			if col != w.p.label {
				j++
			}
			pos += end + 1
		}
		// Errors in the order encoding/csv's reading meets them: the
		// number of fields first.
		if n := 1 + bytes.Count(rec, []byte(",")); (err != nil || pos <= len(rec) || col < ncols) && n != ncols {
			w.fail(&ParseError{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", n, ncols)})
			return
		}
		if err != nil {
			w.fail(err)
			return
		}
		if !w.labelBytes(label, line) {
			return
		}
		w.c.rows++
	}
}

// parseCSV reads a chunk that holds quotes with encoding/csv.
func (w *chunkWriter) parseCSV() {
	cr := csv.NewReader(bytes.NewReader(w.c.data))
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			err = csvError(err)
			var pe *ParseError
			if errors.As(err, &pe) && pe.Line > 0 {
				pe.Line += w.c.firstLine - 1
			}
			w.fail(err)
			return
		}
		line, _ := cr.FieldPos(0)
		line += w.c.firstLine - 1
		if len(rec) != len(w.p.header) {
			w.fail(&ParseError{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(w.p.header))})
			return
		}
		out := w.row()
		j := 0
		for col, field := range rec {
			if col != w.p.label {
				if !feature(w, out, j, field, col, line) {
					return
				}
				j++
			}
		}
		if !w.labelString(rec[w.p.label], line) {
			return
		}
		w.c.rows++
	}
}

// row is where the next record's features go.
func (w *chunkWriter) row() []float64 {
	i := w.c.rowStart + w.c.rows
	return w.p.x[i*w.p.nf : (i+1)*w.p.nf]
}

// feature stores a feature value into out[j].
func feature[S ~string | ~[]byte](w *chunkWriter, out []float64, j int, f S, col, line int) bool {
	v, err := parseNumber(f)
	if err != nil {
		w.fail(&ParseError{Line: line, Column: w.p.header[col], Msg: err.Error()})
		return false
	}
	out[j] = v
	return true
}

// labelBytes records the label of the current row.
func (w *chunkWriter) labelBytes(f []byte, line int) bool {
	if id, ok := w.classes[string(f)]; ok {
		w.p.y[w.c.rowStart+w.c.rows] = id
		return true
	}
	return w.newLabel(string(f), line)
}

func (w *chunkWriter) labelString(f string, line int) bool {
	if id, ok := w.classes[f]; ok {
		w.p.y[w.c.rowStart+w.c.rows] = id
		return true
	}
	return w.newLabel(f, line)
}

// newLabel records a label the chunk has not seen. Past MaxClasses of them
// the chunk stops: joining the chunks then finds the first label too many.
func (w *chunkWriter) newLabel(f string, line int) bool {
	col := w.p.header[w.p.label]
	switch {
	case f == "":
		w.fail(&ParseError{Line: line, Column: col, Msg: "empty label"})
		return false
	case len(f) > w.p.opts.MaxNameBytes:
		w.fail(&ParseError{Line: line, Column: col, Msg: fmt.Sprintf("label is %d bytes; the limit is %d", len(f), w.p.opts.MaxNameBytes)})
		return false
	case !utf8.ValidString(f):
		w.fail(&ParseError{Line: line, Column: col, Msg: "label is not valid UTF-8"})
		return false
	case len(w.c.labels) > w.p.opts.MaxClasses:
		w.fail(errTooManyLabels)
		return false
	}
	id := int32(len(w.c.labels))
	f = strings.Clone(f)
	w.classes[f] = id
	w.c.labels = append(w.c.labels, firstSeen{name: f, line: line})
	w.p.y[w.c.rowStart+w.c.rows] = id
	return true
}

// errTooManyLabels stops a chunk; join reports the label that overflows.
var errTooManyLabels = errors.New("too many labels")

func (w *chunkWriter) fail(err error) { w.c.err = err }
