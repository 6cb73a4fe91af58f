package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	defaultBlockSize = 512 << 10
	maxHeaderBytes   = 16 << 20
)

// Parse reads a CSV with a header row. Every column but the label must be
// numeric. It reads the input once: Parse's goroutine reads blocks, hashes
// them (Options.Digest) and cuts them at the last row boundary; workers
// parse the rows straight into the matrix at offsets known from the line
// counts. Beyond the matrix and the labels it holds a few blocks.
func Parse(r io.Reader, opts Options) (*Dataset, error) {
	if opts.MaxClasses <= 0 {
		opts.MaxClasses = DefaultMaxClasses
	}
	if opts.MaxNameBytes <= 0 {
		opts.MaxNameBytes = DefaultMaxNameBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.blockSize <= 0 {
		opts.blockSize = defaultBlockSize
	}
	p := &parser{opts: opts, in: &blockReader{r: r, opts: opts}}
	return p.run()
}

// blockReader reads the input, passing every byte to the digest and the
// progress callback.
type blockReader struct {
	r    io.Reader
	opts Options
	read int64
	eof  bool
}

// fill appends to buf until it is full or the input ends.
func (b *blockReader) fill(buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) && !b.eof {
		n, err := b.r.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			if b.opts.Digest != nil {
				_, _ = b.opts.Digest.Write(buf[len(buf) : len(buf)+n])
			}
			buf = buf[:len(buf)+n]
			b.read += int64(n)
		}
		if errors.Is(err, io.EOF) {
			b.eof = true
		} else if err != nil {
			return buf, fmt.Errorf("read csv: %w", err)
		}
	}
	if b.opts.OnProgress != nil {
		b.opts.OnProgress(b.read, b.opts.SizeHint)
	}
	return buf, nil
}

// parser holds what the workers share: the header and the matrix they write
// into. Rows of chunk c go to rows [rowStart, rowStart+maxRows); lines
// that hold no row (blank ones) leave gaps, closed when the chunks are
// joined.
type parser struct {
	opts   Options
	in     *blockReader
	header []string
	label  int
	nf     int
	x      []float64 // full capacity
	y      []int32
	failed atomic.Bool
}

// chunk is a run of whole records, and what parsing it found.
type chunk struct {
	buf       []byte // pooled buffer that holds data
	data      []byte
	quoted    bool // holds a quote: parsed by encoding/csv
	firstLine int
	rowStart  int
	maxRows   int

	rows   int
	labels []firstSeen // distinct labels in order of appearance; Y holds indexes into them
	err    error
}

type firstSeen struct {
	name string
	line int
}

func (p *parser) run() (*Dataset, error) {
	// The header: the first record, read by encoding/csv from a block
	// that grows until the record ends before the block does (or the
	// input ends, or the header is absurdly long).
	buf, err := p.in.fill(make([]byte, 0, p.opts.blockSize))
	if err != nil {
		return nil, err
	}
	var header []string
	var off int
	for {
		in := bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
		cr := csv.NewReader(bytes.NewReader(in))
		cr.TrimLeadingSpace = true
		cr.FieldsPerRecord = -1
		header, err = cr.Read()
		off = int(cr.InputOffset())
		complete := err == nil && off > 0 && in[off-1] == '\n'
		if p.in.eof || complete || len(buf) > maxHeaderBytes {
			buf = in
			break
		}
		if buf, err = p.in.fill(slices.Grow(buf, len(buf)+64)); err != nil {
			return nil, err
		}
	}
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Msg: "the file is empty"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	if p.label, err = checkHeader(header, p.opts.Label, p.opts.MaxNameBytes); err != nil {
		return nil, err
	}
	p.header = header
	p.nf = len(header) - 1
	line := 1 + bytes.Count(buf[:off], []byte("\n"))
	if off > 0 && buf[off-1] != '\n' {
		line++ // the header ended at the end of the input
	}
	rest := buf[off:]

	chunks, err := p.parseBlocks(rest, line)
	if err != nil {
		return nil, err
	}
	return p.join(chunks)
}

// parseBlocks cuts the input after the header into chunks of whole records
// and has workers parse them, first the bytes in rest, which start at the
// given line.
func (p *parser) parseBlocks(rest []byte, line int) ([]*chunk, error) {
	workers := p.opts.Workers
	free := make(chan []byte, workers+2)
	for range workers + 2 {
		free <- make([]byte, 0, p.opts.blockSize)
	}
	jobs := make(chan *chunk, workers)
	var wg, inflight sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				p.parseChunk(c)
				if c.err != nil {
					p.failed.Store(true)
				}
				free <- c.buf[:0]
				inflight.Done()
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)

	var chunks []*chunk
	carry := append([]byte(nil), rest...)
	rows := 0
	for !p.failed.Load() {
		buf := append(<-free, carry...)
		if cap(buf)-len(buf) < p.opts.blockSize/2+1 {
			buf = slices.Grow(buf, p.opts.blockSize)
		}
		buf, err := p.in.fill(buf)
		if err != nil {
			return nil, err
		}
		end := len(buf)
		if !p.in.eof {
			end = lastRecordEnd(buf)
			if end < 0 { // a record longer than the block: read on
				carry = append(carry[:0], buf...)
				free <- buf[:0]
				continue
			}
		}
		data := buf[:end]
		carry = append(carry[:0], buf[end:]...)
		if len(data) == 0 {
			free <- buf[:0]
			if p.in.eof {
				break
			}
			continue
		}
		lines := bytes.Count(data, []byte("\n"))
		c := &chunk{buf: buf, data: data, quoted: bytes.IndexByte(data, '"') >= 0,
			firstLine: line, rowStart: rows, maxRows: lines}
		if data[len(data)-1] != '\n' {
			c.maxRows++
		}
		if p.x == nil {
			p.reserve(len(data), c.maxRows)
		}
		if need := rows + c.maxRows; need > len(p.y) {
			inflight.Wait()
			p.grow(need, p.in.read)
		}
		line += lines
		rows += c.maxRows
		chunks = append(chunks, c)
		inflight.Add(1)
		jobs <- c
		if p.in.eof && len(carry) == 0 {
			break
		}
	}
	inflight.Wait()
	return chunks, nil
}

// reserve sizes the matrix from the first chunk's bytes per row and the
// input's size, a little over so that it is not copied as it grows.
// Capacity never written to costs no memory.
func (p *parser) reserve(chunkBytes, chunkRows int) {
	rows := 4 * chunkRows
	if size := p.opts.SizeHint; size > 0 {
		rows = int(float64(size)/float64(chunkBytes)*float64(chunkRows)*1.05) + 64
	}
	const maxReserve = 1 << 28
	if rows*p.nf > maxReserve {
		rows = maxReserve / p.nf
	}
	p.x = make([]float64, rows*p.nf)
	p.y = make([]int32, rows)
}

// grow makes room for at least rows rows, given that rows fill read bytes
// of the input; no worker may be writing.
func (p *parser) grow(rows int, read int64) {
	next := len(p.y) + len(p.y)/4
	if size := p.opts.SizeHint; size > read && read > 0 {
		next = int(float64(rows)*float64(size)/float64(read)*1.05) + 64
	}
	x := make([]float64, max(rows, next)*p.nf)
	copy(x, p.x)
	y := make([]int32, max(rows, next))
	copy(y, p.y)
	p.x, p.y = x, y
}

// join numbers the classes in order of appearance, closes the gaps between
// chunks and reports the first error in the input.
func (p *parser) join(chunks []*chunk) (*Dataset, error) {
	classIDs := map[string]int{}
	var names []string
	rows := 0
	nf := p.nf
	label := p.header[p.label]
	var ids []int32
	for _, c := range chunks {
		ids = ids[:0]
		for _, l := range c.labels {
			id, ok := classIDs[l.name]
			if !ok {
				if len(names) == p.opts.MaxClasses {
					return nil, &ParseError{Line: l.line, Column: label,
						Msg: fmt.Sprintf("more than %d distinct labels: is %s the class column?", p.opts.MaxClasses, label)}
				}
				id = len(names)
				classIDs[l.name] = id
				names = append(names, l.name)
			}
			ids = append(ids, int32(id))
		}
		if c.err != nil {
			return nil, c.err
		}
		for i := range c.rows {
			p.y[rows+i] = ids[p.y[c.rowStart+i]]
		}
		if rows != c.rowStart {
			copy(p.x[rows*nf:], p.x[c.rowStart*nf:(c.rowStart+c.rows)*nf])
		}
		rows += c.rows
	}
	if rows == 0 {
		return nil, &ParseError{Msg: "no data rows after the header"}
	}
	if len(names) < 2 {
		return nil, &ParseError{Column: label, Msg: fmt.Sprintf("column %s has a single class %q; need at least two", label, names[0])}
	}
	d := &Dataset{Label: label, X: p.x[: rows*nf : rows*nf], Y: p.y[:rows:rows]}
	for i, h := range p.header {
		if i != p.label {
			d.Features = append(d.Features, h)
		}
	}
	d.Classes = sortClasses(names, d.Y)
	return d, nil
}

// sortClasses returns the class names sorted as strings and renumbers y,
// which holds indexes into names, to match.
func sortClasses(names []string, y []int32) []string {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	remap := make([]int32, len(names))
	for i, n := range names {
		k, _ := slices.BinarySearch(sorted, n)
		remap[i] = int32(k)
	}
	for i, v := range y {
		y[i] = remap[v]
	}
	return sorted
}

// lastRecordEnd is the offset after the last newline that ends a record,
// or -1; b starts a record.
func lastRecordEnd(b []byte) int {
	if bytes.IndexByte(b, '"') < 0 {
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return i + 1
		}
		return -1
	}
	quoted, last := false, -1
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\n' && !quoted:
			last = i + 1
		}
	}
	return last
}

// trimSpaceStart reports whether a field may start with white space that
// TrimLeadingSpace removes: ASCII space characters, or a multi-byte rune.
func trimSpaceStart(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c >= 0x80
}
