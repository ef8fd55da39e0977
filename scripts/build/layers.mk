# The layers of the daemon, lowest first. Each folder is one static
# library, compiled with only the third-party libraries it may use: every
# other library's headers are replaced by #error stubs (scripts/build/
# poison.sh), so a wrong include fails to compile. Which project layers a
# layer may include is checked by scripts/check-layers.sh (make, make lint);
# the link order below (highest first) makes an upward call fail to link.
#
# layer     folder            third-party libraries
# base      topology/base     -
# host      topology/host     libpci, libnuma
# units     topology/units    -
# cdi       cdi               json-c
# proto     (generated)       protobuf-c
# log       plugin/log        -
# config    plugin/config     json-c
# metrics   plugin/metrics    libmicrohttpd
# events    plugin/events     -
# grpc      plugin/grpc       gRPC core, protobuf-c
# discover  plugin/discover   json-c
# daemon    plugin/daemon     -
# cli       plugin/cli        -

THIRD_PARTY := grpc protobuf-c json-c pci numa microhttpd cunit

LAYERS := base host units cdi proto log config metrics events grpc discover daemon cli

dir_base := topology/base
dir_host := topology/host
dir_units := topology/units
dir_cdi := cdi
dir_log := plugin/log
dir_config := plugin/config
dir_metrics := plugin/metrics
dir_events := plugin/events
dir_grpc := plugin/grpc
dir_discover := plugin/discover
dir_daemon := plugin/daemon
dir_cli := plugin/cli

uses_host := pci numa
uses_cdi := json-c
uses_proto := protobuf-c
uses_config := json-c
uses_metrics := microhttpd
uses_grpc := grpc protobuf-c
uses_discover := json-c

# Unix sockets only: the gRPC core without TLS (no OpenSSL).
pkg_grpc := grpc_unsecure
pkg_protobuf-c := libprotobuf-c
pkg_json-c := json-c
pkg_pci := libpci
pkg_numa := numa
pkg_microhttpd := libmicrohttpd
pkg_cunit := cunit

pkgs_of = $(foreach g,$(1),$(pkg_$(g)))
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

GEN := $(BUILD)/gen/proto/api.pb-c.c $(BUILD)/gen/proto/api.pb-c.h
src_proto := $(BUILD)/gen/proto/api.pb-c.c
$(foreach l,$(filter-out proto,$(LAYERS)),\
  $(eval src_$(l) := $(filter-out plugin/cli/main.c,$(wildcard $(dir_$(l))/*.c))))

# $(call layer_cflags,LAYER): poison dir first, then the allowed libraries.
layer_cflags = -I$(BUILD)/poison/$(1) \
	$(if $(uses_$(1)),$(shell pkg-config --cflags $(call pkgs_of,$(uses_$(1))) 2>/dev/null)) \
	$(if $(filter protobuf-c,$(uses_$(1))),-I$(BUILD)/gen)

lib_of = $(BUILD)/lib/libkgdp-$(1).a

define LAYER_template
$(call obj,$(src_$(1))): LAYER_CFLAGS := $(call layer_cflags,$(1))
$(call obj,$(src_$(1))): | $(BUILD)/poison/$(1)/.stamp $(GEN)
$(BUILD)/poison/$(1)/.stamp: scripts/build/poison.sh scripts/build/layers.mk
	$(Q)sh scripts/build/poison.sh $(BUILD)/poison/$(1) $(filter-out $(uses_$(1)),$(THIRD_PARTY))
$(call lib_of,$(1)): $(call obj,$(src_$(1)))
	@mkdir -p $$(dir $$@)
	$$(call say,AR,$$@)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call LAYER_template,$(l))))

LAYER_SRC := $(foreach l,$(LAYERS),$(src_$(l)))
# Highest first, so that a lower layer calling a higher one fails to link.
LAYER_LIBS := $(foreach l,cli daemon discover grpc events metrics config log proto cdi units host base,\
	$(call lib_of,$(l)))
LAYER_LDLIBS := $(shell pkg-config --libs grpc_unsecure libprotobuf-c libpci numa json-c \
	libmicrohttpd 2>/dev/null) -lpthread
# The CLI's main.c is compiled as the cli layer.
$(call obj,plugin/cli/main.c): LAYER_CFLAGS := $(call layer_cflags,cli)
$(call obj,plugin/cli/main.c): | $(BUILD)/poison/cli/.stamp $(GEN)

$(GEN): proto/api.proto
	@mkdir -p $(BUILD)/gen/proto
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(BUILD)/gen/proto -Iproto $<

$(BUILD)/obj/$(BUILD)/gen/proto/api.pb-c.o: $(BUILD)/gen/proto/api.pb-c.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(LAYER_CFLAGS) $(filter-out -W%,$(CFLAGS)) -w -c -o $@ $<

# Layering of project headers is checked before anything is compiled.
$(BUILD)/layers.ok: scripts/check-layers.sh $(LAYER_SRC) $(wildcard $(foreach l,$(LAYERS),$(dir_$(l))/*.h))
	@mkdir -p $(BUILD)
	$(Q)sh scripts/check-layers.sh && touch $@

# Tests and tools compile with every library's flags (LAYER_CFLAGS unset).
TEST_CFLAGS := $(shell pkg-config --cflags grpc_unsecure libprotobuf-c libpci numa json-c cunit 2>/dev/null) \
	-I$(BUILD)/gen

$(BUILD)/obj/%.o: %.c | $(GEN) $(BUILD)/layers.ok
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(if $(LAYER_CFLAGS),$(LAYER_CFLAGS),$(TEST_CFLAGS)) $(CFLAGS) -c -o $@ $<
