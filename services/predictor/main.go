// Command predictor serves predictions of the production model it follows in
// the S3 model registry, hot-swapping new versions. Configuration comes from the
// environment; run `predictor --help` for the variables.
package main

import "github.com/modelferry/modelferry/pkg/service"

func main() { service.Main("predictor", run) }
