# dist — build, demo, test.
#   make run    build everything and run word count on a local 3-worker cluster
#   make test   go vet + go test -race over everything (needs ZooKeeper for the
#               integration tests: apt-get install zookeeper)

GO      ?= go
BUILD   := build
BIN     := $(BUILD)/bin
SAMPLE  := $(BUILD)/sample
APPS    := wordcount indexer grep crashy
TOP     := 10

.PHONY: help build run test bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

build: ## build dist and the example apps into build/bin
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/dist ./cmd/dist
	@for app in $(APPS); do \
		echo "CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$app ./userapp/$$app"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$app ./userapp/$$app || exit 1; \
	done

$(SAMPLE)/.done:
	$(GO) run ./scripts/gencorpus -dir $(SAMPLE) -files 6 -mb 6
	@touch $@

run: build $(SAMPLE)/.done ## word count over a generated sample on --local 3; prints the top words
	@rm -rf $(BUILD)/out
	$(BIN)/dist run --local 3 --app $(BIN)/wordcount --input '$(SAMPLE)/*.txt' --output $(BUILD)/out --reduces 3
	@echo
	@echo "top $(TOP) words:"
	@sort -t '	' -k2,2nr -k1,1 $(BUILD)/out/part-* | head -n $(TOP)

test: ## go vet and go test -race over every package
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

bench: ## benchmarks (numbers go to BENCH.md)
	$(GO) test -run '^$$' -bench . -benchmem ./task/... ./io/...

fuzz: ## run each fuzz target for a bounded time
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 30s ./io/recordio
	$(GO) test -run '^$$' -fuzz FuzzDecodeFrame -fuzztime 30s ./proto

clean: ## remove build output
	rm -rf $(BUILD)
