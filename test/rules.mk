# Tests, test tools, fixtures, demo and benchmarks (included by Makefile).

UNIT_SRC := $(shell find test/unit -name '*.c')
SUPPORT_SRC := $(wildcard test/support/*.c)
SIM_LIB_SRC := $(filter-out test/kubelet-sim/main.c,$(wildcard test/kubelet-sim/*.c))
INTEG_SRC := $(wildcard test/integration/*.c) $(SIM_LIB_SRC)
BENCH_SRC := $(wildcard test/bench/*.c) $(SIM_LIB_SRC)

SUPPORT_LIB := $(BUILD)/lib/libkgdp-testsupport.a
UNIT_BIN := $(BUILD)/test/unit-tests
INTEG_BIN := $(BUILD)/test/integration-tests
SIM_BIN := $(BUILD)/test/kubelet-sim
GO_PEER := $(BUILD)/test/kubelet-go
CDI_CHECK := $(BUILD)/test/cdi-check
BENCH_BIN := $(BUILD)/test/bench
TESTD_BIN := $(BUILD)/test/testd

TEST_LDLIBS := $(LAYER_LDLIBS) $(shell pkg-config --libs cunit 2>/dev/null)

$(SUPPORT_LIB): $(call obj,$(SUPPORT_SRC))
	@mkdir -p $(dir $@)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(UNIT_BIN): $(call obj,$(UNIT_SRC)) $(SUPPORT_LIB) $(LAYER_LIBS) $(call srclist,unit,$(UNIT_SRC) $(SUPPORT_SRC) $(LAYER_SRC))
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SUPPORT_LIB) $(LAYER_LIBS) $(TEST_LDLIBS)

$(INTEG_BIN): $(call obj,$(INTEG_SRC)) $(SUPPORT_LIB) $(LAYER_LIBS) $(call srclist,integ,$(INTEG_SRC) $(SUPPORT_SRC) $(LAYER_SRC))
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SUPPORT_LIB) $(LAYER_LIBS) $(TEST_LDLIBS)

$(SIM_BIN): $(call obj,test/kubelet-sim/main.c $(SIM_LIB_SRC)) $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LAYER_LIBS) $(LAYER_LDLIBS)

# The daemon with a test-only inventory loader (test/testd/).
$(TESTD_BIN): $(call obj,$(wildcard test/testd/*.c)) $(SUPPORT_LIB) $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SUPPORT_LIB) $(LAYER_LIBS) $(LAYER_LDLIBS)

# Benchmarks drive the daemon with the kubelet simulator library.
$(BENCH_BIN): $(call obj,$(BENCH_SRC)) $(SUPPORT_LIB) $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SUPPORT_LIB) $(LAYER_LIBS) $(LAYER_LDLIBS)

GOENV := GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE=$(abspath $(BUILD))/gocache

$(GO_PEER): $(wildcard test/interop/*.go)
	@mkdir -p $(dir $@)
	$(GOENV) go build -o $@ $^

# Loads CDI specs with the CDI library that container runtimes use.
$(CDI_CHECK): $(wildcard test/cdi-check/*.go)
	@mkdir -p $(dir $@)
	$(GOENV) go build -o $@ $^

# Fixture trees are generated at test time, never committed.
FIXTURES := $(BUILD)/fixtures
$(FIXTURES)/.stamp: $(wildcard scripts/fixtures/*)
	rm -rf $(FIXTURES)
	/usr/bin/python3 scripts/fixtures/gen-fixtures.py --all $(FIXTURES)
	touch $@
fixtures: $(FIXTURES)/.stamp

TEST_ENV := KGDP_BIN=$(abspath $(BIN)) KGDP_FIXTURES=$(abspath $(FIXTURES)) \
	KGDP_SIM=$(abspath $(SIM_BIN)) KGDP_GO_PEER=$(abspath $(GO_PEER)) \
	KGDP_TESTD=$(abspath $(TESTD_BIN)) KGDP_CDI_CHECK=$(abspath $(CDI_CHECK)) \
	KGDP_SRCDIR=$(CURDIR) KGDP_BUILD=$(abspath $(BUILD)) KGDP_SANITIZED=$(SAN)
TEST_RUN ?=

unit: $(UNIT_BIN) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) $(TEST_RUN) $(UNIT_BIN)

integration: $(INTEG_BIN) $(BIN) $(TESTD_BIN) $(SIM_BIN) $(GO_PEER) $(FIXTURES)/.stamp
	$(TEST_ENV) $(TEST_RUN) $(INTEG_BIN)

# Every test program runs even when one before it fails: the CUnit runners
# append their counts to TEST_SUMMARY, the real-peer tests' PASS/FAIL lines
# go to REALTESTS_LOG, and scripts/test-summary.sh prints one summary of all.
TEST_SUMMARY := $(abspath $(BUILD))/test-summary
REALTESTS_LOG := $(abspath $(BUILD))/realtests.log
test: deps
	$(MAKE) --no-print-directory all
	@rm -f $(TEST_SUMMARY) $(REALTESTS_LOG)
	@status=0; \
	KGDP_TEST_SUMMARY=$(TEST_SUMMARY) $(MAKE) --no-print-directory unit || status=1; \
	KGDP_TEST_SUMMARY=$(TEST_SUMMARY) $(MAKE) --no-print-directory integration || status=1; \
	{ $(MAKE) --no-print-directory realtests; echo $$? >$(REALTESTS_LOG).rc; } 2>&1 | \
		tee $(REALTESTS_LOG); \
	rc=$$(cat $(REALTESTS_LOG).rc); \
	if [ "$$rc" != 0 ]; then \
		status=1; \
		grep -q '^FAIL: ' $(REALTESTS_LOG) || \
			echo "FAIL: realtests: make realtests exited with status $$rc" >>$(REALTESTS_LOG); \
	fi; \
	sh scripts/test-summary.sh $(TEST_SUMMARY) $(notdir $(UNIT_BIN)) $(notdir $(INTEG_BIN)) \
		realtests=$(REALTESTS_LOG) || status=1; \
	exit $$status

include test/bench/rules.mk

demo: deps
	$(MAKE) --no-print-directory $(BIN) $(SIM_BIN) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) sh scripts/demo.sh

check-asan: deps
	$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS="-O1 -g" test

valgrind: deps
	$(MAKE) --no-print-directory $(UNIT_BIN) $(INTEG_BIN) $(BIN) $(TESTD_BIN) $(SIM_BIN) $(GO_PEER) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) KGDP_VALGRIND=1 sh scripts/valgrind.sh $(UNIT_BIN) $(INTEG_BIN)
include test/fuzz/rules.mk
