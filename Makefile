# dist — build, demo, test.
#   make run    build everything and run word count on a local 3-worker cluster
#   make test   make lint + go test -race over everything (needs ZooKeeper for
#               the integration tests: apt-get install zookeeper, and
#               make weed for the S3 ones)
#   make weed   build SeaweedFS's weed, the S3 store the tests start, once
#   make lint   go vet, staticcheck and deadcode (Go tools pinned in go.mod)

GO      ?= go
BUILD   := build
BIN     := $(BUILD)/bin
SAMPLE  := $(BUILD)/sample
APPS    := wordcount plaincount indexer grep crashy stopwords sort teragen terasort teravalidate pi
TOP     := 10

.PHONY: help build sample run lint test bench fuzz clean weed

help: ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

build: ## build dist, the example apps and the word count plugin into build/bin
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/dist ./cmd/dist
	@for app in $(APPS); do \
		echo "CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$app ./userapp/$$app"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$app ./userapp/$$app || exit 1; \
	done
	@# dist hosts Go plugins when cgo is on (the default with a C compiler).
	@if $(BIN)/dist version --json | grep -q '"plugins": true'; then \
		$(BIN)/dist build --plugin ./userapp/wordcount -o $(BIN)/wordcount.so; \
	else echo "dist was built without cgo: no plugin support, skipping wordcount.so"; fi

sample: $(SAMPLE)/.done ## generate the sample corpus (six 1 MB text files) in build/sample

$(SAMPLE)/.done:
	$(GO) run ./scripts/gencorpus -dir $(SAMPLE) -files 6 -mb 6
	@touch $@

run: build $(SAMPLE)/.done ## word count over a generated sample on --local 3; prints the top words
	@rm -rf $(BUILD)/out
	$(BIN)/dist run --local 3 --app $(BIN)/wordcount --input '$(SAMPLE)/*.txt' --output $(BUILD)/out --reduces 3 --report $(BUILD)/report.html
	@echo
	@echo "top $(TOP) words:"
	@sort -t '	' -k2,2nr -k1,1 $(BUILD)/out/part-* | head -n $(TOP)

lint: ## gofmt, go vet, staticcheck, and deadcode: no function unreachable from a main, test or example
	@out=$$($$($(GO) env GOROOT)/bin/gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*')); \
	if [ -n "$$out" ]; then echo "$$out"; echo "gofmt: the files above are not formatted: run gofmt -w on them"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@# deadcode exits 0 whatever it finds, so any line it prints fails here.
	@# -test makes tests and examples roots: what only they use is not dead.
	@echo "$(GO) tool deadcode -test ./..."; \
	out=$$($(GO) tool deadcode -test ./...) || exit 1; \
	if [ -n "$$out" ]; then \
		echo "$$out"; \
		echo "deadcode: the functions above are unreachable: remove them (or call them from a test or example)"; \
		exit 1; \
	fi

test: lint ## make lint, then go test -race over every package
	@# scripts/gotest is go test printing each package's result as it ends
	@# (plain go test ./... holds them back in package order).
	$(GO) run ./scripts/gotest -race -count=1 -timeout 15m ./...
	@# go-zookeeper v1.0.4 races on Conn.lastZxid when it re-sets watches after a
	@# reconnect (go-zookeeper/zk#35); these tests skip under -race and run here.
	$(GO) test -count=1 -run 'TestZKServerRestartKeepsRegistration|TestZKWatchSurvivesConnectionLoss|TestZKElectionAfterServerRestart' ./registry

weed: ## build SeaweedFS's weed (the S3 store of tests and scripts/s3-local.sh) into ~/.cache/dist, once
	scripts/s3-local.sh build

bench: build ## word count (with and without Combine), sort, TeraSort, small files vs baselines, local and on S3; warm jobs, shipping, Go benchmarks, tracker simulation: writes BENCH.md
	$(GO) build -trimpath -o $(BIN)/baseline-wordcount ./scripts/baseline-wordcount
	$(GO) build -trimpath -o $(BIN)/gencorpus ./scripts/gencorpus
	$(GO) run ./scripts/bench -bin $(BIN) -out BENCH.md

# Every decoder of bytes from the network or from a task: package:target.
# make test runs their seed corpora (testdata/fuzz/...) as plain tests.
FUZZ     := ./proto:FuzzHandshake ./proto:FuzzDecodeFrame ./task/spec:FuzzDecodeConfig \
            ./io/recordio:FuzzReader ./internal/msgpackx:FuzzUnmarshal ./internal/artifact:FuzzInspect \
            ./io/storage/s3store:FuzzParseURL
FUZZTIME ?= 30s

fuzz: ## run each fuzz target for FUZZTIME (30s; e.g. make fuzz FUZZTIME=5m)
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$fn\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

clean: ## remove build output
	rm -rf $(BUILD)
