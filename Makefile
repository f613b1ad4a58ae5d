# signingd — `make help` lists the targets.
SHELL := bash
GO ?= go
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export DATABASE_URL
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10m
BENCHTIME ?= 1x
BENCHARGS ?=

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install the Debian packages the tests need (.ci/apt-packages.txt) and start Postgres
	bash .ci/tools

.PHONY: generate
generate: ## regenerate code from openapi.yaml
	cd api/gen && $(GO) generate ./...

.PHONY: verify
verify: ## fail when generated code is stale, code is unformatted, or vet/staticcheck complain
	@$(MAKE) --no-print-directory generate
	@git diff --exit-code -- api/gen || (echo "api/gen is stale: run make generate and commit"; exit 1)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "run gofmt"; exit 1)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: lint
lint: verify ## same as verify

.PHONY: build
build: ## build bin/signingd
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/signingd ./cmd/signingd

.PHONY: test
test: tools ## install what the tests need (as make tools), then run every test against the Postgres of DATABASE_URL
	$(GO) test -race -timeout 20m ./...

.PHONY: screenshots
screenshots: tools ## make docs/screens: the signer's pages at 390 and 1280 px and a signed page, by the browser test
	rm -rf docs/screens && mkdir -p docs/screens
	SCREENSHOTS_DIR=$(CURDIR)/docs/screens $(GO) test -count=1 -run '^TestBrowserSignDeclineRefuse$$' ./signing/providers/builtin

.PHONY: run
run: ## try it: signingd dev (simulators, demo data, a throwaway Postgres when DATABASE_URL does not answer); flags in ARGS='--provider simulated'
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/signingd dev $(ARGS)

.PHONY: serve
serve: ## serve on :8080 with the example landscape against DATABASE_URL; demo SECRET_KEY and KEY_ENCRYPTION_KEY unless set
	@test -n "$$SECRET_KEY$$KEY_ENCRYPTION_KEY" || echo "make serve: demo SECRET_KEY and KEY_ENCRYPTION_KEY (published, not secret); set your own outside a try-out"
	SECRET_KEY=$${SECRET_KEY:-signingd-dev-demo-pepper-not-secret} KEY_ENCRYPTION_KEY=$${KEY_ENCRYPTION_KEY:-ZGVtby1rZXktZW5jcnlwdGlvbi1rZXktbm90LXNlY3I=} \
	ZGW_SECRET=$${ZGW_SECRET:-demo-secret} CONFIG_FILE=$${CONFIG_FILE:-examples/landscape.yaml} $(GO) run -ldflags "$(LDFLAGS)" ./cmd/signingd serve

.PHONY: client
client: ## register a demo client for the example landscape and print its API key
	ZGW_SECRET=$${ZGW_SECRET:-demo-secret} CONFIG_FILE=$${CONFIG_FILE:-examples/landscape.yaml} $(GO) run ./cmd/signingd clients create --rsin 002220647 --name "Demo ZAC" --api-key

.PHONY: bench
bench: ## run every benchmark, one package at a time, and the intake load test, and write docs/benchmarks.md from that run
	$(GO) run ./bench/report -benchtime $(BENCHTIME) $(BENCHARGS)

.PHONY: bench-raw
bench-raw: ## run every benchmark, one package at a time, and the intake load test against pgbench; print only
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...
	$(GO) run ./bench/intake

.PHONY: chaos
chaos: tools ## three replicas, 1 000 transactions, kills, DRC and NRC faults and a Postgres restart (restarts the machine's Postgres: not in CI)
	CHAOS_TRANSACTIONS=1000 CHAOS_PG_RESTART=1 REPLICAS_TRANSACTIONS=1000 $(GO) test -count=1 -v -timeout 30m -run '^(TestChaos|TestReplicas)$$' ./e2e

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 10m); not part of CI
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
