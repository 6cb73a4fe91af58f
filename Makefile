# modelferry — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Pinned tool versions; `make tools` installs them into .tools/bin.
VERSITYGW_VERSION     := v1.8.0
BUF_VERSION           := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
STATICCHECK_VERSION   := v0.8.2

TOOLS   := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)
export GIN_MODE := release

# Every module of the workspace; `go test ./...` at the root sees none.
MODULES  = $(shell go list -f '{{.Dir}}/...' -m)
FUZZTIME ?= 10s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION) $(TOOLS)/stamp/buf-$(BUF_VERSION) $(TOOLS)/stamp/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(TOOLS)/stamp/staticcheck-$(STATICCHECK_VERSION) ## install pinned tools into .tools/bin

$(TOOLS)/stamp/versitygw-%:
	GOBIN=$(TOOLS)/bin go install github.com/versity/versitygw/cmd/versitygw@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/buf-%:
	GOBIN=$(TOOLS)/bin go install github.com/bufbuild/buf/cmd/buf@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/protoc-gen-go-%:
	GOBIN=$(TOOLS)/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/staticcheck-%:
	GOBIN=$(TOOLS)/bin go install honnef.co/go/tools/cmd/staticcheck@$*
	@mkdir -p $(@D) && touch $@

.PHONY: build
build: ## build static binaries into bin/
	CGO_ENABLED=0 go build -trimpath -o bin/trainer ./services/trainer
	CGO_ENABLED=0 go build -trimpath -o bin/predictor ./services/predictor

.PHONY: generate
generate: tools ## regenerate protobuf code from proto/
	cd proto && buf lint && buf generate

.PHONY: test
test: tools ## run every test: unit, integration (real S3), end-to-end (real processes), fuzzing, promtool
	go vet $(MODULES)
	go test -count=1 $(MODULES)
	$(MAKE) fuzz

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pkg/dataset
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./pkg/artifact
	go test -run '^$$' -fuzz '^FuzzDecodePredict$$' -fuzztime $(FUZZTIME) ./services/predictor/internal/serving

.PHONY: run
run: build tools ## run the whole system locally: S3 (versitygw), trainer :8080, predictor :8000, Prometheus :9090
	go build -o bin/devstack ./devstack/cmd/devstack
	bin/devstack run

.PHONY: bench
bench: build tools ## Go benchmarks, then an HTTP load test of a fresh local stack
	go test -run '^$$' -bench HTTP -benchtime 1x ./services/predictor/internal/api
	go test -run '^$$' -bench . -benchmem ./pkg/logreg ./pkg/dataset ./pkg/modelstore ./services/predictor/internal/serving
	go build -o bin/devstack ./devstack/cmd/devstack
	bin/devstack bench

.PHONY: lint
lint: tools ## go vet + staticcheck
	go vet $(MODULES)
	staticcheck $(MODULES)
