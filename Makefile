# kata-gpu-device-plugin — GNU make build.
#   make            build build/kata-gpu-device-plugin
#   make deps       install missing Debian packages (test and demo do it first)
#   make test       unit + integration tests, then the real-peer tests (test/realkernel/rules.mk)
#   make demo       run the plugin on the bundled HGX H100 example host
#   make bench      benchmarks
#   make check-asan the test suite under ASan+UBSan (in build-asan/)
#   make valgrind   the test suite under valgrind
#   make lint       layering, file/function sizes, cppcheck and clang-tidy
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= gcc
VERSION := 0.1.0

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

CPPFLAGS += -I. -D_GNU_SOURCE -DKGDP_VERSION=\"$(VERSION)\"
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fno-common -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	$(SAN_FLAGS) -MMD -MP
LDFLAGS += $(SAN_FLAGS)

# V=1 shows full command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

include scripts/build/layers.mk

BIN := $(BUILD)/kata-gpu-device-plugin

# $(call srclist,NAME,SOURCES): a file that changes whenever the set of
# sources of a binary changes, so that removing a file relinks it too.
srclist = $(shell mkdir -p $(BUILD) && (echo '$(sort $(2))' | cmp -s - $(BUILD)/$(1).srcs || \
	echo '$(sort $(2))' > $(BUILD)/$(1).srcs))$(BUILD)/$(1).srcs

.PHONY: all deps test unit integration demo bench check-asan valgrind lint install clean fixtures
all: $(BIN)

$(BIN): $(call obj,plugin/cli/main.c) $(LAYER_LIBS) $(call srclist,bin,$(LAYER_SRC))
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LAYER_LIBS) $(LAYER_LDLIBS)

include test/rules.mk
include deployments/image/rules.mk
include test/manifests/rules.mk
include test/realkernel/rules.mk
include test/soak/rules.mk

deps:
	@sh scripts/install-deps.sh

lint: $(GEN)
	sh scripts/lint.sh $(BUILD)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/kata-gpu-device-plugin

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
