# make soak: the daemon under a long mixed load (test/soak/), included by
# the Makefile. Prints the daemon's descriptors and RSS over the run.

SOAK_SRC := $(wildcard test/soak/*.c) $(SIM_LIB_SRC)
SOAK_BIN := $(BUILD)/test/soak

$(SOAK_BIN): $(call obj,$(SOAK_SRC)) $(SUPPORT_LIB) $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SUPPORT_LIB) $(LAYER_LIBS) $(LAYER_LDLIBS)

.PHONY: soak
soak: deps
	$(MAKE) --no-print-directory $(SOAK_BIN) $(BIN) $(FIXTURES)/.stamp
	$(TEST_ENV) $(SOAK_BIN)
