package tabular

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// Source is a table Prepare reads twice.
type Source interface {
	// Columns returns the header: the column names.
	Columns() []string
	// Scan calls fn with every row in order: its 1-based input line and
	// its cells, as many as the header has. cells is valid only during
	// the call. An error from fn stops the scan and is returned.
	Scan(fn func(line int, cells []string) error) error
}

// Columns returns t.Header.
func (t *Table) Columns() []string { return t.Header }

// Scan calls fn with every row of t.
func (t *Table) Scan(fn func(line int, cells []string) error) error {
	for i, r := range t.Rows {
		if len(r) != len(t.Header) {
			return &dataset.ParseError{Line: t.line(i), Msg: fmt.Sprintf("%d fields, the header has %d", len(r), len(t.Header))}
		}
		if err := fn(t.line(i), r); err != nil {
			return err
		}
	}
	return nil
}

// CSVFile is a CSV table read from the start on every scan, one record in
// memory at a time: Prepare's memory is then its output's.
type CSVFile struct {
	open   func() (io.ReadCloser, error)
	header []string
}

// OpenCSV reads the header of the CSV table open returns; every scan
// calls open again.
func OpenCSV(open func() (io.ReadCloser, error)) (*CSVFile, error) {
	f := &CSVFile{open: open}
	err := f.read(func(cr *csv.Reader) error { return nil })
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Columns returns the header.
func (f *CSVFile) Columns() []string { return f.header }

// Scan reads the table again and calls fn with every row.
func (f *CSVFile) Scan(fn func(line int, cells []string) error) error {
	return f.read(func(cr *csv.Reader) error {
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return csvError(err)
			}
			line, _ := cr.FieldPos(0)
			if err := fn(line, rec); err != nil {
				return err
			}
		}
	})
}

// read opens the table, checks its header and hands the reader on.
func (f *CSVFile) read(body func(*csv.Reader) error) error {
	rc, err := f.open()
	if err != nil {
		return fmt.Errorf("open table: %w", err)
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &dataset.ParseError{Msg: "the table is empty: send a header line and rows"}
	}
	if err != nil {
		return csvError(err)
	}
	if f.header == nil {
		f.header = slices.Clone(header)
		if err := checkHeader(f.header); err != nil {
			return err
		}
	} else if !slices.Equal(header, f.header) {
		return fmt.Errorf("the table changed between passes: a new header")
	}
	return body(cr)
}

// Rows is src with only the rows keep accepts; row counts from 0 in
// src's order. A train/test split prepares the training rows with it, so
// that the transform, as scikit-learn's Pipeline, learns from them alone.
func Rows(src Source, keep func(row int) bool) Source { return rowFilter{src, keep} }

type rowFilter struct {
	Source
	keep func(int) bool
}

func (f rowFilter) Scan(fn func(line int, cells []string) error) error {
	row := 0
	return f.Source.Scan(func(line int, cells []string) error {
		row++
		if !f.keep(row - 1) {
			return nil
		}
		return fn(line, cells)
	})
}
