# The two commands a new user runs on a fresh Debian bookworm machine:
#   make run    build, start vyos-sim on loopback and the netconverge daemon on manifests/
#   make test   build and run every test (unit, integration over loopback, end to end)
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all deps test-deps configure build test run bench bench-fleet bench-store bench-http bench-ansible api-docs-check crash-test fuzz tidy format clean

all: build

deps:
	@scripts/install-deps.sh
	@scripts/install-kube-tools.sh $(BUILD_DIR)/tools

# Test-only tools (Ansible, netmiko, OpenSSH client for the interop test): `make test` only.
test-deps:
	@scripts/install-deps.sh --test

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build test-deps
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

run: build
	@scripts/demo.sh $(BUILD_DIR)

crash-test: build
	@test/e2e/crash_test.sh $(BUILD_DIR)/bin 60

bench: build
	@$(BUILD_DIR)/bin/netconverge-bench --sim $(BUILD_DIR)/bin/vyos-sim
	@echo
	@$(BUILD_DIR)/bin/netconverge-bench --switch-sim $(BUILD_DIR)/bin/switch-sim

# `netconverge run` converging fleets of vyos-sim routers (1 x 10,000 ... 1,000 x 20 rules):
# converge time, peak RSS, CPU, an idle minute's CPU (docs/benchmarks.md "Fleet").
bench-fleet: build
	@scripts/bench-fleet.py $(BUILD_DIR)

# The store's size after 1,000 passes over 10,000 rules and 30 (+30) days of 1,000 routers
# (docs/benchmarks.md "Store").
bench-store: build
	@$(BUILD_DIR)/bin/netconverge-store-bench --dir $${TMPDIR:-/tmp}

# The admin API under wrk load while a 10,000-rule device is reconciled (docs/benchmarks.md).
bench-http: build
	@scripts/bench-http.sh $(BUILD_DIR)

# Unmodified Ansible vyos_config against netconverge apply on one vyos-sim latency model
# (docs/benchmarks.md); about 20 minutes.
bench-ansible: build test-deps
	@scripts/bench-ansible.sh $(BUILD_DIR)

# Every curl example of docs/api-reference.md, verbatim, against a `make run` already running.
api-docs-check:
	@python3 test/e2e/api_docs_check.py docs/api-reference.md .

# libFuzzer harnesses (clang, ASan+UBSan, build-fuzz/), each for FUZZ_SECONDS; a finding fails.
FUZZ_SECONDS ?= 60
fuzz: test-deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

tidy: build test-deps
	scripts/tidy.sh $(BUILD_DIR)

format:
	scripts/format.sh

clean:
	@rm -rf $(BUILD_DIR)
