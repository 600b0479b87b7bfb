# The one entry point: build, test, lint, package, demo, bench, preview, up.
SHELL := /bin/bash
MODULES := functions functions/contract stacks infra
FUNCTIONS := discover-partitions invoke-enrichment enrich-partition cleanup-locks
STACK ?= dev
TOOLS := $(CURDIR)/.tools
ASL_VALIDATOR_VERSION := 4.0.0
ACTIONLINT_VERSION := v1.7.12
export PATH := $(TOOLS)/bin:$(TOOLS)/node_modules/.bin:$(PATH)

.PHONY: all build build-standalone test test-go lint lint-asl vet fmt-check package demo bench bench-throughput bench-tokens chaos \
	diagram preview up tools moto clean

all: build test

## build: compile every module
build:
	@for m in $(MODULES); do (cd $$m && go build ./...) || exit 1; done

## test: unit and integration tests of every module, plus the ASL lint
test: tools moto vet build-standalone test-go lint-asl

test-go:
	@for m in $(MODULES); do echo "== go test $$m"; (cd $$m && go test -count=1 -timeout 20m ./...) || exit 1; done

## build-standalone: Pulumi builds the program with GOWORK=off, so every module must build alone
build-standalone:
	@for m in functions stacks infra; do (cd $$m && GOWORK=off go build ./...) || { echo "$$m does not build with GOWORK=off: run go mod tidy there"; exit 1; }; done

vet:
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: gofmt, go vet, actionlint on the workflows, asl-validator on the rendered definitions
lint: tools fmt-check vet lint-asl
	actionlint

lint-asl: tools
	@mkdir -p build/asl
	@for s in dev staging prod; do \
		(cd functions && go run ./cmd/enrichctl workflow asl --stack $$s) > build/asl/$$s.json || exit 1; \
		asl-validator --json-path build/asl/$$s.json || exit 1; \
	done

## package: deterministic bootstrap zips for linux/arm64 (provided.al2023) in dist/
package:
	@cd functions && go run ./cmd/lambdapack -out ../dist $(FUNCTIONS)

## diagram: regenerate docs/state-machine.md and the state machine and job lifecycle diagrams in docs/architecture.md
diagram:
	@mkdir -p build
	@cd functions && go run ./cmd/enrichctl workflow diagram --markdown > ../docs/state-machine.md
	@cd functions && go run ./cmd/enrichctl workflow diagram > ../build/state-machine.mmd
	@awk -v f=build/state-machine.mmd 'BEGIN { while ((getline l < f) > 0) d = d l "\n" } \
		/<!-- state-machine:end -->/ { skip = 0 } \
		!skip { print } \
		/<!-- state-machine:begin -->/ { printf "```mermaid\n%s```\n", d; skip = 1 }' \
		docs/architecture.md > build/architecture.md && mv build/architecture.md docs/architecture.md
	@cd functions && go run ./cmd/enrichctl lifecycle > ../build/lifecycle.mmd
	@awk -v f=build/lifecycle.mmd 'BEGIN { while ((getline l < f) > 0) d = d l "\n" } \
		/<!-- lifecycle:end -->/ { skip = 0 } \
		!skip { print } \
		/<!-- lifecycle:begin -->/ { printf "```mermaid\n%s```\n", d; skip = 1 }' \
		docs/architecture.md > build/architecture.md && mv build/architecture.md docs/architecture.md

## demo: run the whole pipeline locally on bundled sample data (BEDROCK=aws for real Bedrock)
demo: moto
	@cd functions && go run ./cmd/enrichctl demo --stack $(STACK) --out ../demo-output $(if $(BEDROCK),--bedrock $(BEDROCK))

## bench: Go benchmarks of the hot paths
bench: moto
	@cd functions && go test -run '^$$' -bench . -benchmem ./enrich/... ./silver/... ./enrichpartition/...

## bench-throughput: the throughput simulation against the local cloud
bench-throughput: moto
	@cd functions && go run ./cmd/enrichctl simulate --stack $(STACK)

## bench-tokens: input and answer tokens per pass and the cost per job, offline (o200k)
bench-tokens:
	@cd functions && go run ./cmd/enrichctl bench-tokens --stack $(STACK)

## chaos: the chaos tests (CHAOS_JOBS jobs, default 500, then the short variants) in the local cloud
CHAOS_JOBS ?= 500
chaos: moto
	@cd functions && CHAOS=1 CHAOS_JOBS=$(CHAOS_JOBS) go test -count=1 -timeout 150m -v -run TestChaos ./e2e/...

## preview / up: wrap the Pulumi CLI for one stack
preview: package
	pulumi preview --stack $(STACK)

up: package
	pulumi up --stack $(STACK)

## tools: pinned npm and Go tools under .tools/
tools: $(TOOLS)/node_modules/.bin/asl-validator $(TOOLS)/bin/actionlint

$(TOOLS)/node_modules/.bin/asl-validator:
	@mkdir -p $(TOOLS)
	@cd $(TOOLS) && npm install --no-audit --no-fund --silent asl-validator@$(ASL_VALIDATOR_VERSION) >/dev/null

$(TOOLS)/bin/actionlint:
	@GOBIN=$(TOOLS)/bin go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

## moto: make sure the moto server (Python) is importable
moto:
	@python3 -c 'import moto, moto.server' 2>/dev/null || python3 -m pip install --quiet 'moto[server]==5.2.1'

clean:
	rm -rf dist build
