# Tests against real peers (included by Makefile), run by `make test` after
# the unit and integration suites:
#   realkernel   the plugin in Debian's kernel under QEMU (test/realkernel/)
# Each prints one PASS/FAIL line with what it proved and how long it took.
# A missing package fails under CI=true (scripts/install-deps.sh installs
# them all) and skips otherwise, with the reason.

VFIO_STATUS_BIN := $(BUILD)/test/vfio-group-status
REALKERNEL_TOOLS := qemu-system-x86_64 busybox setpriv cpio modinfo dpkg-deb apt-get

$(VFIO_STATUS_BIN): test/realkernel/vfio_group_status.c
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $<

# $(call real_missing,TOOLS): the tools of TOOLS not on PATH.
real_missing = $(strip $(foreach t,$(1),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))

.PHONY: realkernel realtests
realkernel: $(BIN) $(SIM_BIN) $(VFIO_STATUS_BIN)
	$(TEST_ENV) KGDP_VFIO_STATUS=$(abspath $(VFIO_STATUS_BIN)) sh test/realkernel/realkernel.sh

realtests:
ifeq ($(call real_missing,$(REALKERNEL_TOOLS)),)
	$(MAKE) --no-print-directory realkernel
else ifeq ($(CI),true)
	@echo "FAIL: realkernel: missing $(call real_missing,$(REALKERNEL_TOOLS)) (scripts/install-deps.sh)"; exit 1
else
	@echo "SKIP: realkernel: missing $(call real_missing,$(REALKERNEL_TOOLS)) (make deps installs them)"
endif
