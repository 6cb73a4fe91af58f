# modelferry — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Pinned tool versions; `make tools` installs them into .tools/bin.
VERSITYGW_VERSION     := v1.8.0
BUF_VERSION           := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
STATICCHECK_VERSION   := v0.8.2
SWAGGO_FILES_VERSION  := v2.0.2

TOOLS   := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)
export GIN_MODE := release

# Every module of the workspace; `go test ./...` at the root sees none.
MODULES  = $(shell go list -f '{{.Dir}}/...' -m)
FUZZTIME ?= 10s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: tools test-tools
test-tools: $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION) $(TOOLS)/stamp/buf-$(BUF_VERSION) $(TOOLS)/stamp/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
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
$(TOOLS)/stamp/staticcheck-%:
	GOBIN=$(TOOLS)/bin go install honnef.co/go/tools/cmd/staticcheck@$*
	@mkdir -p $(@D) && touch $@

# nomsgpack drops gin's MessagePack codec (the APIs speak JSON): 6 MB less.
BUILD_FLAGS := -trimpath -tags nomsgpack -ldflags='-s -w'

.PHONY: build
build: ## build static binaries into bin/
	CGO_ENABLED=0 go build $(BUILD_FLAGS) -o bin/trainer ./services/trainer
	CGO_ENABLED=0 go build $(BUILD_FLAGS) -o bin/predictor ./services/predictor

.PHONY: generate
generate: tools ## regenerate protobuf code from proto/
	cd proto && buf lint && buf generate

.PHONY: swagger-ui
swagger-ui: ## refresh pkg/swaggerui/dist from github.com/swaggo/files/v2 (pinned)
	dir=$$(go mod download -json github.com/swaggo/files/v2@$(SWAGGO_FILES_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	cp "$$dir/dist/swagger-ui-bundle.js" "$$dir/dist/swagger-ui.css" pkg/swaggerui/dist/ && \
	cp "$$dir/LICENSE" pkg/swaggerui/dist/LICENSE.swaggo-files && chmod 644 pkg/swaggerui/dist/*

.PHONY: test
test: test-tools ## run every test: unit, integration (real S3), end-to-end (real processes), fuzzing, promtool
	go vet $(MODULES)
	prometheus/check.sh
	go test -count=1 $(MODULES)
	$(MAKE) fuzz

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pkg/dataset
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./pkg/artifact
	go test -run '^$$' -fuzz '^FuzzDecodePredict$$' -fuzztime $(FUZZTIME) ./services/predictor/internal/serving

# MUTATE_FLAGS: -targets named,reloader,serving,logreg,modelstore (default
# all), -e2e, -workers N, -match REGEXP, -list.
.PHONY: mutate
mutate: test-tools ## mutation tests (slow, not in `test`): operator and named mutations of the store, reloader, decoder, model math
	go run ./devstack/cmd/mutate $(MUTATE_FLAGS)

.PHONY: run
run: build $(TOOLS)/stamp/versitygw-$(VERSITYGW_VERSION) ## run the whole system locally: S3 (versitygw), trainer :8080, predictor :8000, Prometheus :9090
	go build -o bin/devstack ./devstack/cmd/devstack
	bin/devstack run

.PHONY: bench
bench: build test-tools ## Go benchmarks, then an HTTP load test of a fresh local stack
	go test -run '^$$' -bench HTTP -benchtime 1x ./services/predictor/internal/api
	go test -run '^$$' -bench . -benchmem ./pkg/logreg ./pkg/dataset ./pkg/modelstore ./services/predictor/internal/serving
	go build -o bin/devstack ./devstack/cmd/devstack
	bin/devstack bench

.PHONY: lint
lint: tools ## go vet + staticcheck
	go vet $(MODULES)
	staticcheck $(MODULES)

COMPOSE      ?= $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo docker-compose)
COMPOSE_ARGS := -p modelferry --env-file compose/.env -f compose/compose.yaml

.PHONY: up down logs compose-test
up: ## docker compose: S3 :9000, trainer :8080, 2 predictors :8000-8001, Prometheus :9090, Grafana :3000
	compose/init-env.sh
	COMPOSE_DOCKER_CLI_BUILD=1 DOCKER_BUILDKIT=1 $(COMPOSE) $(COMPOSE_ARGS) up -d --build
down: ## stop the compose stack (DOWN_FLAGS=-v also deletes its volumes)
	$(COMPOSE) $(COMPOSE_ARGS) down $(DOWN_FLAGS)
logs: ## follow the compose stack's logs
	$(COMPOSE) $(COMPOSE_ARGS) logs -f --tail=100
compose-test: ## run compose.yaml on the local Docker engine, offline (~1 min; ~4 the first time)
	compose/test.sh
