// Package client is a typed Go client of modelferry's trainer and
// predictor HTTP APIs: what the ferry CLI uses (the end-to-end suite runs
// the ferry binary, so it reaches the servers through this package).
// Errors from the servers come back as *APIError with the server's code
// and message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to one server (a trainer or a predictor).
type Client struct {
	base string
	http *http.Client
}

// Options configures a Client.
type Options struct {
	// Token, when set, goes as a bearer token in every request to the
	// server's own scheme, host and port, and never across a redirect to
	// another.
	Token string
	// HTTPClient replaces http.DefaultClient.
	HTTPClient *http.Client
}

// New returns a client of the server at base ("http://localhost:8080").
func New(base string, opts Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host:port", base)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	if opts.Token != "" {
		// The token is added per request, past the redirect logic of
		// net/http: that one forwards Authorization to another port of the
		// same host.
		withToken := *hc
		withToken.Transport = &tokenTransport{scheme: u.Scheme, host: u.Host, token: opts.Token, next: hc.Transport}
		hc = &withToken
	}
	return &Client{base: strings.TrimSuffix(base, "/"), http: hc}, nil
}

// tokenTransport sets the bearer token on requests to one origin only.
type tokenTransport struct {
	scheme, host, token string
	next                http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if req.URL.Scheme != t.scheme || !strings.EqualFold(req.URL.Host, t.host) {
		if req.Header.Get("Authorization") != "" {
			req = req.Clone(req.Context())
			req.Header.Del("Authorization")
		}
		return next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return next.RoundTrip(req)
}

// APIError is an error answer of a server: its status and the body's code
// and message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// ErrorCode returns the code of an API error, or "" for another error.
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// request sends a request and returns the response of a 2xx answer; any
// other becomes an *APIError.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader, contentType string, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // says the method and URL
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, decodeError(resp.StatusCode, b)
}

// decodeError reads both error shapes: ours ({"error": {"code",
// "message"}}) and OIP's ({"error": "..."}).
func decodeError(status int, b []byte) *APIError {
	var ours struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &ours) == nil && ours.Error.Message != "" {
		return &APIError{Status: status, Code: ours.Error.Code, Message: ours.Error.Message}
	}
	var oip struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &oip) == nil && oip.Error != "" {
		return &APIError{Status: status, Message: oip.Error}
	}
	return &APIError{Status: status, Message: strings.TrimSpace(string(b))}
}

// do sends a JSON request (in may be nil) and decodes a JSON answer into
// out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	resp, err := c.request(ctx, method, path, body, ct, -1)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}
