# Timeslice: two commands do everything on a fresh Debian machine.
#   make run    install what is missing, build release, run the quickstart and print its table
#   make test   install what is missing, build, run the whole test suite (under a deadline)
SWIFT        ?= swift
TEST_TIMEOUT ?= 3600
RELEASE_BIN  := .build/release/timeslice

RESULTS      ?= results

.PHONY: all deps deps-optional build release run test bench notebooks go-baseline clean

all: build

deps:
	@scripts/install-deps.sh

deps-optional:
	@scripts/install-deps.sh --optional

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: deps-optional release go-baseline
	$(RELEASE_BIN) run experiments/quickstart.json

bench: release
	$(RELEASE_BIN) bench

# Tests that could hang carry their own watchdogs; this outer deadline is the last resort.
test: deps
	$(SWIFT) build --build-tests
	timeout --signal=KILL $(TEST_TIMEOUT) $(SWIFT) test --skip-build
	scripts/test-notebooks.sh

# Executes every notebook headless against the newest runs under $(RESULTS); PNGs land beside them.
notebooks:
	scripts/notebooks.sh $(RESULTS)

# The Go reference program (issue 7), when go is installed.
go-baseline:
	@if command -v go >/dev/null; then cd baselines/go && go build -o ../../.build-go/timeslice-go-baseline .; \
	 else echo "go not installed: skipping baselines/go"; fi

clean:
	rm -rf .build
