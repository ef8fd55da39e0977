# Image and link mode of the shipped binary (included by the Makefile).
#
# The daemon talks gRPC over unix sockets only, so it links grpc_unsecure
# (no OpenSSL). By default (LINK=static) it also links statically what
# Debian ships as .a: gRPC and its own dependencies (gpr, upb,
# address_sorting, c-ares, re2, abseil), protobuf-c, json-c, libnuma,
# libmicrohttpd and libstdc++; libpci (no .a in Debian), GnuTLS (which
# Debian's libmicrohttpd is built against; its static build would drag in
# nettle, gmp, p11-kit and more) and libc stay shared. Measured on the
# HGX H100 fixture (README, "Image and footprint"): a smaller image and a
# smaller RSS than either dynamic build. LINK=dynamic links everything shared (as the test
# binaries are).
#   make image        build/image/rootfs, the image $(IMAGE) in podman's
#                     storage, and build/image/kata-gpu-device-plugin.tar
#                     (OCI archive; the tests load it into their own store)

LINK ?= static
IMAGE ?= localhost/kata-gpu-device-plugin:$(VERSION)
PODMAN ?= podman
IMAGE_DIR := $(BUILD)/image
IMAGE_TAR := $(IMAGE_DIR)/kata-gpu-device-plugin.tar

# Debian's grpc_unsecure.pc lists no private libraries: name them here.
GRPC_STATIC_DEPS := -lupb -laddress_sorting -lcares -lre2
BIN_STATIC_LIBS := -Wl,-Bstatic \
	$(shell pkg-config --static --libs grpc_unsecure libprotobuf-c numa json-c 2>/dev/null) \
	$(GRPC_STATIC_DEPS) -lmicrohttpd -lstdc++ -Wl,-Bdynamic \
	$(shell pkg-config --libs libpci gnutls 2>/dev/null) -lz -lm -lpthread

# Relink when the link mode changes.
$(BIN): $(call srclist,bin-link,$(LINK) $(SAN))

ifeq ($(LINK),static)
ifeq ($(SAN),)
$(BIN): LDFLAGS += -static-libgcc -static-libstdc++ -Wl,--gc-sections -Wl,--as-needed
$(BIN): LAYER_LDLIBS := $(BIN_STATIC_LIBS)
endif
else ifneq ($(LINK),dynamic)
$(error LINK must be static or dynamic, not '$(LINK)')
endif

.PHONY: image
image: $(IMAGE_TAR)

$(IMAGE_TAR): $(BIN) deployments/image/Containerfile deployments/image/assemble-rootfs.sh
	$(call say,ROOTFS,$(IMAGE_DIR)/rootfs)
	$(Q)sh deployments/image/assemble-rootfs.sh $(BIN) $(IMAGE_DIR)/rootfs
	$(call say,IMAGE,$(IMAGE))
	$(Q)$(PODMAN) build -q -f deployments/image/Containerfile -t $(IMAGE) \
		--iidfile $(IMAGE_DIR)/image-id $(IMAGE_DIR) >/dev/null
	@# Saved by ID: another tree's `make image` may retag $(IMAGE) meanwhile.
	$(Q)rm -f $@.tmp && $(PODMAN) save -q --format oci-archive -o $@.tmp \
		"$$(cat $(IMAGE_DIR)/image-id)" && mv $@.tmp $@
	@printf '  %-6s %s: %s bytes in files, archive %s bytes\n' SIZE $(IMAGE) \
		"$$(du -sb $(IMAGE_DIR)/rootfs | cut -f1)" "$$(stat -c %s $@)"

# The integration suite image_podman runs the image (test/image/).
integration: $(IMAGE_TAR) $(CDI_CHECK)
