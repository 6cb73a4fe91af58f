// Package artifactpb is the protobuf code generated from
// proto/modelferry/artifact/v1/artifact.proto (`make generate`); this file
// is the only one written by hand.
package artifactpb
