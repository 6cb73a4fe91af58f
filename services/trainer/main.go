// Command trainer fits logistic regression models on CSV datasets and
// publishes them to the S3 model registry. Configuration comes from the
// environment; run `trainer --help` for the variables.
package main

import "github.com/modelferry/modelferry/pkg/service"

func main() { service.Main("trainer", run) }
