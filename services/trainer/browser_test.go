package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// screenshotDir is where the console browser test leaves a screenshot of
// each page (git-ignored, like the rest of .data/).
const screenshotDir = ".data/console-screenshots"

// browser drives headless Chromium on one tab and keeps what the page
// wrote to its console and the dialogs it opened.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	seen  *seen
}

// seen is what the page reported, shared by the browser's copies.
type seen struct {
	mu       sync.Mutex
	messages []string
	dialogs  []string
}

// on returns the browser for a subtest.
func (b *browser) on(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

func newBrowser(t *testing.T, base, token string) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium is needed (Debian package chromium; .ci/run installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		// Offline: nothing but the trainer on loopback resolves.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	b := &browser{t: t, ctx: bctx, base: base, shots: repo.Path(t, screenshotDir), seen: &seen{}}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				b.seen.mu.Lock()
				b.seen.messages = append(b.seen.messages, m.String()+" ("+m.URL+")")
				b.seen.mu.Unlock()
			}
		}
	}()
	// Confirmations are accepted; a prompt for the token gets it.
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.seen.mu.Lock()
			b.seen.dialogs = append(b.seen.dialogs, string(ev.Type))
			b.seen.mu.Unlock()
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true, PromptText: token})
		}
	}()
	return b
}

// open loads a console page and waits for sel in it.
func (b *browser) open(path, sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
}

// text returns the text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds, for at most 30s.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within 30s (%s; last error %v)", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) click(sel string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

// shot saves a screenshot of the whole page: the viewport grown to the
// page's height (capturing beyond the viewport leaves holes in headless
// Chromium), then set back.
func (b *browser) shot(name string) {
	b.t.Helper()
	// Twice: the first resize can change the layout's height.
	for range 2 {
		h := eval[int64](b, `Math.ceil(document.body.getBoundingClientRect().height)`)
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, max(h, 700))); err != nil {
			b.t.Fatal(err)
		}
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := chromedp.Do(b.ctx, chromedp.ResetViewport()); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// clean fails the test for every console error or warning since the last
// call, except those containing one of allowed (the answers a test
// provokes on purpose, which the browser logs as failed loads).
func (b *browser) clean(page string, allowed ...string) {
	b.t.Helper()
	time.Sleep(100 * time.Millisecond) // let the last events arrive
	b.seen.mu.Lock()
	msgs := b.seen.messages
	b.seen.messages = nil
	b.seen.mu.Unlock()
	for _, m := range msgs {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(m, a) }) {
			b.t.Errorf("%s: console says %s", page, m)
		}
	}
}

func (b *browser) takeDialogs() []string {
	b.seen.mu.Lock()
	defer b.seen.mu.Unlock()
	d := b.seen.dialogs
	b.seen.dialogs = nil
	return d
}

// gatedProxy stands between the trainer and S3 and lets the body of one
// object through only as far as the test allows: a training held at a
// known point of its load, by construction rather than by timing. Only
// the latest read of the object is held (the S3 client may open it more
// than once).
type gatedProxy struct {
	URL string

	mu      sync.Mutex
	cond    *sync.Cond
	credit  int64
	current *gatedBody
	open    bool // released for good
}

func startGatedProxy(t *testing.T, s3 *s3test.Server, path string) *gatedProxy {
	t.Helper()
	target, _ := url.Parse("http://" + s3.Endpoint)
	g := &gatedProxy{}
	g.cond = sync.NewCond(&g.mu)
	rp := httputil.NewSingleHostReverseProxy(target) // keeps Host: the request stays signed
	rp.FlushInterval = -1
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && resp.Request.URL.Path == path {
			body := &gatedBody{ReadCloser: resp.Body, g: g}
			g.mu.Lock()
			g.current = body
			g.cond.Broadcast()
			g.mu.Unlock()
			resp.Body = body
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(func() {
		g.allow(-1)
		srv.Close()
	})
	g.URL = srv.Listener.Addr().String()
	return g
}

// allow lets n more bytes through; n < 0 lets everything through.
func (g *gatedProxy) allow(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n < 0 {
		g.open = true
	}
	g.credit += n
	g.cond.Broadcast()
}

// hold holds the next reads again, with no bytes allowed.
func (g *gatedProxy) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open, g.credit = false, 0
}

type gatedBody struct {
	io.ReadCloser
	g *gatedProxy
}

func (b *gatedBody) Read(p []byte) (int, error) {
	g := b.g
	g.mu.Lock()
	for g.current == b && !g.open && g.credit <= 0 {
		g.cond.Wait()
	}
	held := g.current == b && !g.open
	if held && int64(len(p)) > g.credit {
		p = p[:g.credit]
	}
	g.mu.Unlock()
	n, err := b.ReadCloser.Read(p)
	if held {
		g.mu.Lock()
		g.credit -= int64(n)
		g.mu.Unlock()
	}
	return n, err
}

// callAPI calls the trainer's API with the token and decodes its answer.
func callAPI(t *testing.T, method, url, token, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := jsonDecode(resp.Body, v); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func f4(v float64) string { return fmt.Sprintf("%.4f", v) }
