# kata-gpu-device-plugin — GNU make build.
#   make            build build/kata-gpu-device-plugin
#   make test       unit + integration tests (installs missing dependencies)
#   make demo       run the plugin on the bundled HGX H100 example host
#   make bench      benchmarks
#   make check-asan the test suite under ASan+UBSan (in build-asan/)
#   make valgrind   the test suite under valgrind
#   make lint       cppcheck over the sources
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= gcc
VERSION := 0.1.0

PKGS := grpc libprotobuf-c libpci numa json-c cunit

# Install what is missing before anything is configured (not for clean).
ifeq ($(filter clean,$(MAKECMDGOALS)),)
DEPS_OK := $(shell pkg-config --exists $(PKGS) && command -v protoc-c >/dev/null && command -v go >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
$(info make: installing missing dependencies with scripts/install-deps.sh)
DEPS_RC := $(shell sh scripts/install-deps.sh 1>&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error scripts/install-deps.sh failed)
endif
endif
endif

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wswitch-enum -Wimplicit-fallthrough -Wvla -Wnull-dereference
ifeq ($(CI),true)
WARN += -Werror
endif
ifneq ($(WERROR),)
WARN += -Werror
endif

SAN_FLAGS :=
ifneq ($(SAN),)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs grpc libprotobuf-c libpci numa json-c 2>/dev/null)
CUNIT_LIBS := $(shell pkg-config --libs cunit 2>/dev/null)

CPPFLAGS += -I. -I$(BUILD)/gen -D_GNU_SOURCE -DKGDP_VERSION=\"$(VERSION)\"
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fno-common -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	$(SAN_FLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(SAN_FLAGS)
LDLIBS += $(PKG_LIBS) -lpthread

# V=1 shows full command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

BIN := $(BUILD)/kata-gpu-device-plugin
GEN := $(BUILD)/gen/proto/api.pb-c.c $(BUILD)/gen/proto/api.pb-c.h

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# $(call srclist,NAME,SOURCES): a file that changes whenever the set of
# sources of a binary changes, so that removing a file relinks it too.
srclist = $(shell mkdir -p $(BUILD) && (echo '$(sort $(2))' | cmp -s - $(BUILD)/$(1).srcs || \
	echo '$(sort $(2))' > $(BUILD)/$(1).srcs))$(BUILD)/$(1).srcs

TOPO_SRC := $(wildcard topology/*.c)
CDI_SRC := $(wildcard cdi/*.c)
PLUGIN_SRC := $(filter-out plugin/main.c,$(wildcard plugin/*.c))
LIB_OBJ := $(call obj,$(TOPO_SRC) $(CDI_SRC) $(PLUGIN_SRC)) $(BUILD)/obj/gen/proto/api.pb-c.o

UNIT_SRC := $(wildcard test/unit/*.c) $(wildcard test/support/*.c)
SIM_LIB_SRC := $(filter-out test/kubelet-sim/main.c,$(wildcard test/kubelet-sim/*.c))
INTEG_SRC := test/unit/runner.c $(wildcard test/integration/*.c) $(wildcard test/support/*.c) $(SIM_LIB_SRC)
BENCH_SRC := $(wildcard test/bench/*.c)

UNIT_BIN := $(BUILD)/test/unit-tests
INTEG_BIN := $(BUILD)/test/integration-tests
SIM_BIN := $(BUILD)/test/kubelet-sim
GO_PEER := $(BUILD)/test/kubelet-go
CDI_CHECK := $(BUILD)/test/cdi-check
BENCH_BIN := $(BUILD)/test/bench
TESTD_BIN := $(BUILD)/test/testd

GOENV := GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE=$(abspath $(BUILD))/gocache

.PHONY: all test unit integration demo bench check-asan valgrind lint install clean fixtures
all: $(BIN)

$(BUILD)/gen/proto/api.pb-c.c $(BUILD)/gen/proto/api.pb-c.h: proto/api.proto
	@mkdir -p $(BUILD)/gen/proto
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(BUILD)/gen/proto -Iproto $<

$(BUILD)/obj/gen/proto/api.pb-c.o: $(BUILD)/gen/proto/api.pb-c.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -W%,$(CFLAGS)) -w -c -o $@ $<

$(BUILD)/obj/%.o: %.c | $(GEN)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BIN): $(call obj,plugin/main.c) $(LIB_OBJ) $(call srclist,bin,$(LIB_OBJ))
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(UNIT_BIN): $(call obj,$(UNIT_SRC)) $(LIB_OBJ) $(call srclist,unit,$(UNIT_SRC) $(LIB_OBJ))
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS) $(CUNIT_LIBS)

$(INTEG_BIN): $(call obj,$(INTEG_SRC)) $(LIB_OBJ) $(call srclist,integ,$(INTEG_SRC) $(LIB_OBJ))
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS) $(CUNIT_LIBS)

$(SIM_BIN): $(call obj,test/kubelet-sim/main.c $(SIM_LIB_SRC)) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# The daemon with a test-only inventory loader (test/testd/).
$(TESTD_BIN): $(call obj,$(wildcard test/testd/*.c) $(wildcard test/support/*.c)) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# Benchmarks drive the daemon with the kubelet simulator library.
$(BENCH_BIN): $(call obj,$(BENCH_SRC) $(SIM_LIB_SRC) $(wildcard test/support/*.c)) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

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
	KGDP_SRCDIR=$(CURDIR) KGDP_BUILD=$(abspath $(BUILD))
TEST_RUN ?=

unit: $(UNIT_BIN) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) $(TEST_RUN) $(UNIT_BIN)

integration: $(INTEG_BIN) $(BIN) $(TESTD_BIN) $(SIM_BIN) $(GO_PEER) $(FIXTURES)/.stamp
	$(TEST_ENV) $(TEST_RUN) $(INTEG_BIN)

test: all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration

bench: $(BENCH_BIN) $(BIN) $(FIXTURES)/.stamp
	$(TEST_ENV) $(BENCH_BIN)

demo: $(BIN) $(SIM_BIN) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) sh scripts/demo.sh

check-asan:
	$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS="-O1 -g" test

valgrind: $(UNIT_BIN) $(INTEG_BIN) $(BIN) $(TESTD_BIN) $(SIM_BIN) $(GO_PEER) $(CDI_CHECK) $(FIXTURES)/.stamp
	$(TEST_ENV) KGDP_VALGRIND=1 sh scripts/valgrind.sh $(UNIT_BIN) $(INTEG_BIN)

lint: $(GEN)
	sh scripts/lint.sh $(BUILD)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/kata-gpu-device-plugin

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
