// Package testkit is the root of the test-only helpers of the workspace:
// a real S3 server for integration tests (s3test), the wrk load generator
// (wrk) and the repository's shared fixtures (repo). It is a module of its
// own, so nothing of it ships in the services or the pkg library.
package testkit
