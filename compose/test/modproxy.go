// Command modproxy serves a Go module cache's download directory, which has
// the layout of a module proxy, over HTTP: the compose test points the image
// builds' GOPROXY at it, so that they download no module from outside.
//
//	go build -o modproxy compose/test/modproxy.go
//	modproxy -listen 172.17.0.1:0 -dir "$(go env GOMODCACHE)/cache/download"
//
// It prints the URL it serves on, then serves until it is killed. It uses
// the standard library only, so it builds outside the workspace.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	dir := flag.String("dir", "", "a module cache's cache/download directory")
	flag.Parse()
	if err := run(*listen, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(listen, dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("-dir %q: not a directory", dir)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{
		Handler: http.FileServer(http.Dir(dir)),
		// Module zips can be large; the headers may not take long.
		ReadHeaderTimeout: 10 * time.Second,
	}
	return srv.Serve(ln)
}
