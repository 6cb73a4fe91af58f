// Package kubernetes holds no code: its tests render the kustomizations in
// this directory and check every object against the Kubernetes API types
// and the services' own configuration.
package kubernetes
