# Tests against real peers (included by Makefile), run by `make test` after
# the unit and integration suites:
#   realkernel    the plugin in Debian's kernel under QEMU (realkernel.sh)
#   oci-devices   Allocate's DeviceSpecs in a podman + runc container
# (The podman CDI end-to-end test is the integration suite cdi_podman.)
# Each prints one PASS/FAIL line with what it proved and how long it took.
# A missing package fails under CI=true (scripts/install-deps.sh installs
# them all) and skips otherwise, with the reason.

VFIO_STATUS_BIN := $(BUILD)/test/vfio-group-status
REALKERNEL_TOOLS := qemu-system-x86_64 busybox setpriv cpio modinfo dpkg-deb apt-get timeout
OCI_TOOLS := podman runc busybox unshare mknod

$(VFIO_STATUS_BIN): test/realkernel/vfio_group_status.c
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $<

# $(call real_missing,TOOLS): the tools of TOOLS not on PATH.
real_missing = $(strip $(foreach t,$(1),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))
# $(call real_run,NAME,TOOLS,TARGET): make TARGET, or say why not.
define real_run
$(if $(call real_missing,$(2)),$(if $(filter true,$(CI)),@echo "FAIL: $(1): missing $(call real_missing,$(2)) (scripts/install-deps.sh)"; exit 1,@echo "SKIP: $(1): missing $(call real_missing,$(2)) (make deps installs them)"),$(MAKE) --no-print-directory $(3))
endef

.PHONY: realkernel oci-devices realtests
realkernel: $(BIN) $(SIM_BIN) $(VFIO_STATUS_BIN)
	$(TEST_ENV) KGDP_VFIO_STATUS=$(abspath $(VFIO_STATUS_BIN)) sh test/realkernel/realkernel.sh

oci-devices: $(BIN) $(SIM_BIN) $(FIXTURES)/.stamp
	$(TEST_ENV) sh test/realkernel/oci-devices.sh

realtests:
	$(call real_run,oci-devices,$(OCI_TOOLS),oci-devices)
	$(call real_run,realkernel,$(REALKERNEL_TOOLS),realkernel)
