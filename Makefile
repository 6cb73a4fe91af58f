# modelferry — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Pinned tool versions; `make tools` installs them into .tools/bin.
VERSITYGW_VERSION     := v1.8.0
BUF_VERSION           := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION       := v1.9.4
STATICCHECK_VERSION   := v0.8.2
# Prometheus' Go module versions map to releases: v0.316.0 is Prometheus 3.16.0.
PROMETHEUS_VERSION    := v0.316.0

TOOLS   := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)
export GIN_MODE := release

# Every module of the workspace; `go test ./...` at the root sees none.
MODULES  = $(shell go list -f '{{.Dir}}/...' -m)
MODULE_DIRS = $(shell go list -f '{{.Dir}}' -m)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: tools test-tools
test-tools: $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION) $(TOOLS)/stamp/buf-$(BUF_VERSION) $(TOOLS)/stamp/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(TOOLS)/stamp/prometheus-$(PROMETHEUS_VERSION) \
	$(TOOLS)/stamp/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) $(TOOLS)/stamp/grpcurl-$(GRPCURL_VERSION)
tools: test-tools $(TOOLS)/stamp/staticcheck-$(STATICCHECK_VERSION) ## install pinned tools into .tools/bin

$(TOOLS)/stamp/versitygw-%:
	GOBIN=$(TOOLS)/bin go install github.com/versity/versitygw/cmd/versitygw@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/buf-%:
	GOBIN=$(TOOLS)/bin go install github.com/bufbuild/buf/cmd/buf@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/protoc-gen-go-%:
	GOBIN=$(TOOLS)/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$*
	@mkdir -p $(@D) && touch $@
# The server (end-to-end suite, querycheck, make run) and promtool
# (prometheus/check.sh); built without the web UI's assets: the API is all
# the tests use.
$(TOOLS)/stamp/prometheus-%:
	GOBIN=$(TOOLS)/bin go install -ldflags="-s -w -X github.com/prometheus/common/version.Version=$*" \
		github.com/prometheus/prometheus/cmd/prometheus@$* github.com/prometheus/prometheus/cmd/promtool@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/protoc-gen-go-grpc-%:
	GOBIN=$(TOOLS)/bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/grpcurl-%:
	GOBIN=$(TOOLS)/bin go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$*
	@mkdir -p $(@D) && touch $@
$(TOOLS)/stamp/staticcheck-%:
	GOBIN=$(TOOLS)/bin go install honnef.co/go/tools/cmd/staticcheck@$*
	@mkdir -p $(@D) && touch $@

# nomsgpack drops gin's MessagePack codec (the APIs speak JSON): 6 MB less;
# grpcnotrace drops gRPC's x/net/trace event log (off by default anyway): 10 MB
# less in the predictor.
BUILD_FLAGS := -trimpath -tags nomsgpack,grpcnotrace -ldflags='-s -w'

.PHONY: build
build: ## build static binaries into bin/
	CGO_ENABLED=0 go build $(BUILD_FLAGS) -o bin/trainer ./services/trainer
	CGO_ENABLED=0 go build $(BUILD_FLAGS) -o bin/predictor ./services/predictor
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/ferry ./ferry

.PHONY: generate
generate: tools ## regenerate protobuf code from proto/
	cd proto && buf lint && buf generate

.PHONY: test
test: test-tools ## run every test: unit, integration (real S3), end-to-end (real processes), the race tier, fuzzing, promtool
	go vet $(MODULES)
	$(MAKE) vet-modules
	prometheus/check.sh
	go test -count=1 $(MODULES)
	$(MAKE) race
	$(MAKE) licenses
	$(MAKE) fuzz

# The race tier: every package whose code or tests start goroutines or use
# sync, sync/atomic or x/sync, under the race detector; but the end-to-end
# suite (its services run as processes built without it) and pkg/logreg,
# whose concurrent gradient and Hessian alone run here: its whole suite
# takes six minutes under the detector. The detector needs cgo: a C
# compiler (Debian: gcc and libc6-dev; .ci/run installs them).
RACE_PKGS = $(shell go list -f '{{.ImportPath}} {{.Dir}}' $(MODULES) | \
	while read p d; do grep -qsE '"sync(/atomic)?"|golang.org/x/sync|^\s+go [a-zA-Z_.]' $$d/*.go && echo $$p; done | \
	grep -v -e '/devstack/e2e$$' -e '/pkg/logreg$$')
RACE_LOGREG := ^(TestFitIsIndependentOfWorkers|TestGradientMatchesFiniteDifferences|TestHessianMatchesFiniteDifferences|TestFitReportsProgressAndStopsOnCancel)$$

.PHONY: race
race: test-tools ## the tests of every package with goroutines or atomics again, under the race detector (needs gcc)
	@command -v "$$(go env CC)" >/dev/null || { echo "race: the race detector needs cgo and a C compiler ($$(go env CC)): apt-get install gcc libc6-dev" >&2; exit 1; }
	CGO_ENABLED=1 go test -race -count=1 $(RACE_PKGS)
	CGO_ENABLED=1 go test -race -count=1 -run '$(RACE_LOGREG)' ./pkg/logreg

.PHONY: vet-modules
# Each module must build on its own, as `go install ...@version` and a
# module's users see it: GOWORK=off reads only its go.mod, whose replace
# directives point at the sibling modules (see the README's "Modules and
# releases").
vet-modules: ## go vet each module alone (GOWORK=off)
	@set -e; for dir in $(MODULE_DIRS); do echo "GOWORK=off go vet $$dir"; (cd $$dir && GOWORK=off go vet ./...); done

.PHONY: licenses
licenses: build ## list the license of every module the binaries link; fail on one not allowed (GPL, AGPL, unknown...)
	go run ./devstack/cmd/devstack licenses -license LICENSE bin/trainer bin/predictor bin/ferry

.PHONY: fuzz
# Budgets are counts of executions, about 10 s each on a 2-core machine: a
# duration's end races Go 1.26's fuzzing coordinator (golang/go#75804),
# which then fails the target with "context deadline exceeded" and no
# crasher. FUZZTIME (a count, 100000x, or a duration) overrides them all.
fuzz: ## run each fuzz target for its budget of executions, or FUZZTIME
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),40000x) ./pkg/dataset
	go test -run '^$$' -fuzz '^FuzzParseDecimal$$' -fuzztime $(or $(FUZZTIME),400000x) ./pkg/dataset
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),150000x) ./pkg/artifact
	go test -run '^$$' -fuzz '^FuzzDecodePredict$$' -fuzztime $(or $(FUZZTIME),30000x) ./pkg/serving
	go test -run '^$$' -fuzz '^FuzzDecodeInfer$$' -fuzztime $(or $(FUZZTIME),30000x) ./pkg/serving
	go test -run '^$$' -fuzz '^FuzzAnswerAgainstEncodingJSON$$' -fuzztime $(or $(FUZZTIME),30000x) ./pkg/serving
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),100000x) ./services/trainer/internal/runfilter

# MUTATE_FLAGS: -targets named,reloader,serving,logreg,modelstore (default
# all), -e2e, -workers N, -match REGEXP, -list.
.PHONY: mutate
mutate: test-tools ## mutation tests (slow, not in `test`): operator and named mutations of the store, reloader, decoder, model math
	go run ./devstack/cmd/mutate $(MUTATE_FLAGS)

.PHONY: run
# The ports first (a taken one fails in seconds, before any build), then the
# core, then the stack; Prometheus is one installed (Debian's package has a
# web UI) or the pinned one, built in the background once the core serves.
run: ## run the whole system locally: S3 :9000, trainer :8080, predictor :8000 (gRPC :8001), Prometheus :9090, all on loopback (ports from MODELFERRY_S3_PORT, _TRAINER_PORT, _PREDICTOR_PORT, _PREDICTOR_GRPC_PORT, _PROMETHEUS_PORT)
	@echo "checking the ports (a small build first: seconds, up to a minute on an empty Go cache)..."
	@go build -o bin/portcheck ./devstack/cmd/portcheck && bin/portcheck
	@$(if $(wildcard $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION)),true,$(call timed,versitygw $(VERSITYGW_VERSION) into .tools/bin (once: 2 to 10 minutes on an empty Go cache$(comma) by load),$(SUBMAKE) --no-print-directory $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION)))
	@$(call timed,trainer$(comma) predictor$(comma) ferry and the runner into bin/ (2 to 9 minutes on an empty Go cache$(comma) by load; seconds after),$(SUBMAKE) --no-print-directory build && go build -o bin/devrun ./devstack/cmd/devrun)
	bin/devrun -prometheus-build '$(SUBMAKE) --no-print-directory $(TOOLS)/stamp/prometheus-$(PROMETHEUS_VERSION)'

comma := ,
# $(MAKE) under another name: a line naming $(MAKE) runs even under make -n.
SUBMAKE = $(MAKE)
# $(call timed,WHAT,COMMAND): say what is built and how long it may take,
# run it, and say how long it took.
timed = echo "building $(1)..." && start=$$(date +%s) && $(2) && echo "built in $$(( $$(date +%s) - start ))s"

.PHONY: bench
bench: build test-tools ## Go benchmarks, then an HTTP load test of a fresh local stack
	go test -run '^$$' -bench HTTP -benchtime 1x ./services/predictor/internal/api
	go test -run '^$$' -bench . -benchmem ./pkg/logreg ./pkg/dataset ./pkg/modelstore ./pkg/serving
	go build -o bin/devstack ./devstack/cmd/devstack
	bin/devstack bench

.PHONY: lint
lint: tools ## go vet + staticcheck
	go vet $(MODULES)
	staticcheck $(MODULES)

COMPOSE      ?= $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo docker-compose)
COMPOSE_ARGS := -p modelferry --env-file compose/.env -f compose/compose.yaml
# BuildKit when the buildx plugin is there, else the classic builder: the
# Dockerfiles need no BuildKit, and Docker 23+ refuses BuildKit without buildx.
DOCKER_BUILDKIT ?= $(shell docker buildx version >/dev/null 2>&1 && echo 1 || echo 0)

.PHONY: up down logs compose-test
up: ## docker compose: S3 :9000, trainer :8080, 2 predictors :8000-8001, Prometheus :9090, Grafana :3000
	compose/init-env.sh
	DOCKER_BUILDKIT=$(DOCKER_BUILDKIT) $(COMPOSE) $(COMPOSE_ARGS) up -d --build
down: ## stop the compose stack (DOWN_FLAGS=-v also deletes its volumes)
	$(COMPOSE) $(COMPOSE_ARGS) down $(DOWN_FLAGS)
logs: ## follow the compose stack's logs
	$(COMPOSE) $(COMPOSE_ARGS) logs -f --tail=100
compose-test: $(TOOLS)/stamp/prometheus-$(PROMETHEUS_VERSION) ## run compose.yaml on the local Docker engine, offline (~12 min)
	compose/test.sh
