package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
)

// This file reads training uploads into temporary files: a CSV body of
// unknown length spooled before its run is queued, one of known length
// streamed while its run loads it, and a multipart "file" part.

// spool writes a whole upload to a temporary file before its run is
// queued, so a large dataset is held once (as the parsed matrix), never as
// a second copy in memory.
func (a *API) spool(c *gin.Context, r io.Reader) (pipeline.Source, error) {
	path, err := a.uploadFile()
	if err != nil {
		return pipeline.Source{}, err
	}
	src := pipeline.Source{Path: path, Temporary: true}
	limited := http.MaxBytesReader(c.Writer, io.NopCloser(r), a.cfg.MaxUploadBytes)
	if err := pipeline.NewUpload(-1).Fill(path, limited, a.uploadError); err != nil {
		src.Release()
		return pipeline.Source{}, err
	}
	return src, nil
}

// streamUpload prepares a CSV body of known length to be read while its
// run loads it: receive writes it to a temporary file.
func (a *API) streamUpload(c *gin.Context, r io.Reader, size int64) (pipeline.Source, func() error, error) {
	if size > a.cfg.MaxUploadBytes {
		return pipeline.Source{}, nil, a.uploadTooLarge(&http.MaxBytesError{Limit: a.cfg.MaxUploadBytes})
	}
	path, err := a.uploadFile()
	if err != nil {
		return pipeline.Source{}, nil, err
	}
	up := pipeline.NewUpload(size)
	src := pipeline.Source{Path: path, Temporary: true, Upload: up}
	receive := func() error {
		limited := http.MaxBytesReader(c.Writer, io.NopCloser(r), a.cfg.MaxUploadBytes)
		return up.Fill(path, limited, a.uploadError)
	}
	return src, receive, nil
}

func (a *API) spoolMultipart(c *gin.Context) (pipeline.Source, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxUploadBytes+1<<20)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return pipeline.Source{}, badRequest("malformed multipart body: %v", err)
	}
	var src pipeline.Source
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			src.Release()
			if tooLarge := a.uploadTooLarge(err); tooLarge != nil {
				return pipeline.Source{}, tooLarge
			}
			return pipeline.Source{}, badRequest("malformed multipart body: %v", err)
		}
		name := part.FormName()
		if name != "file" {
			src.Release()
			return pipeline.Source{}, badRequest("unknown form field %s: send the CSV as a part named \"file\"; parameters go in the query string", quote(name))
		}
		if src.Path != "" {
			src.Release()
			return pipeline.Source{}, badRequest("more than one \"file\" part")
		}
		if src, err = a.spool(c, part); err != nil {
			return pipeline.Source{}, err
		}
		src.Name = part.FileName()
	}
	if src.Path == "" {
		return pipeline.Source{}, badRequest("multipart body has no \"file\" part")
	}
	return src, nil
}

// uploadFile creates an empty temporary file for an upload and closes it:
// the run opens it to read and Fill to write, so no descriptor stays open
// if the request is refused before.
func (a *API) uploadFile() (string, error) {
	f, err := os.CreateTemp(a.cfg.TempDir, "upload-*.csv")
	if err != nil {
		return "", fmt.Errorf("create upload file: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("create upload file: %w", err)
	}
	return f.Name(), nil
}

// uploadError is what a client is told of an upload that broke off.
func (a *API) uploadError(err error) error {
	if tooLarge := a.uploadTooLarge(err); tooLarge != nil {
		return tooLarge
	}
	if tooSlow := a.uploadTooSlow(err); tooSlow != nil {
		return tooSlow
	}
	return &httpserver.Error{Status: http.StatusBadRequest, Code: errcode.InvalidArgument,
		Message: "reading the upload failed", Cause: err}
}

// uploadTooLarge is the 413 for a body cut off at the upload limit, or
// nil for any other error.
func (a *API) uploadTooLarge(err error) error {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return nil
	}
	return httpserver.Errorf(http.StatusRequestEntityTooLarge, errcode.TooLarge,
		"upload is larger than the limit of %d bytes (TRAINER_MAX_UPLOAD_BYTES)", a.cfg.MaxUploadBytes)
}

// maxFilename bounds a dataset's original name, as file systems do.
const maxFilename = 255

// uploadName is the name an upload keeps: the filename query parameter,
// else the multipart part's filename or the default dataset's file. Only
// the last element of a path counts; a name that is not printable UTF-8,
// or is too long, is refused.
func uploadName(q url.Values, src pipeline.Source) (string, error) {
	name := src.Name
	if q.Has("filename") {
		if src.Path == "" || src.Name != "" && !src.Temporary {
			return "", badRequest("filename names an uploaded CSV: send one (text/csv or a multipart \"file\" part), or leave filename out")
		}
		name = q.Get("filename")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > maxFilename || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "", badRequest("filename %s: want a file name of at most %d bytes of printable UTF-8", quote(name), maxFilename)
	}
	return name, nil
}
