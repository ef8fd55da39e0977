# libFuzzer targets (clang-14 + libclang-rt-14-dev), included by test/rules.mk.
#   make fuzz                 build every target and run each for FUZZ_TIME s
#   make fuzz FUZZ_TIME=300   longer runs; FUZZ_TARGETS=fuzz_rpc picks some
# The library sources are compiled again with clang, ASan and UBSan into
# $(BUILD)/fuzz; seeds live in test/fuzz/corpus/<target>/ and new inputs go
# to $(BUILD)/fuzz/corpus/<target>/ (not committed). A crash fails the run
# and leaves its input in $(BUILD)/fuzz/artifacts/.

FUZZ_CC ?= clang-14
FUZZ_TIME ?= 20
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_ALL := $(patsubst test/fuzz/%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link $(TEST_CFLAGS) -MMD -MP
FUZZ_LIB_SRC := $(LAYER_SRC) $(GEN)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(filter %.c,$(FUZZ_LIB_SRC)))
FUZZ_MAIN_OBJ := $(patsubst %,$(FUZZ_DIR)/obj/test/fuzz/%.o,$(FUZZ_ALL))
# Kept between runs (make would delete them as intermediates of fuzz_%).
.SECONDARY: $(FUZZ_MAIN_OBJ)

$(FUZZ_DIR)/obj/%.o: %.c | $(GEN)
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libkgdp-fuzz.a: $(FUZZ_LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/test/fuzz/fuzz_%.o $(FUZZ_DIR)/libkgdp-fuzz.a
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LAYER_LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_ALL))

fuzz: deps
	$(MAKE) --no-print-directory fuzz-build $(FIXTURES)/.stamp
	$(TEST_ENV) sh test/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_TARGETS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
