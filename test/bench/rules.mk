# `make bench`: one table of figures beside same-run baselines (README
# "Performance"). Not part of `make test` or CI. Included by test/rules.mk.

GOPLUGIN := $(BUILD)/test/goplugin
BENCH_FIXTURES := $(BUILD)/bench-fixtures

# The grpc-go baselines share the message types of the interop peer; go
# builds named files from one directory, so both are copied side by side.
$(GOPLUGIN): test/bench/go/goplugin.go test/interop/api.go
	@mkdir -p $(dir $@) $(BUILD)/gobench
	cp $^ $(BUILD)/gobench/
	cd $(BUILD)/gobench && $(GOENV) go build -o $(abspath $@) goplugin.go api.go

# The 4x host (16,256 functions, ~1 GiB of small files) only for the bench.
$(BENCH_FIXTURES)/.stamp: $(wildcard scripts/fixtures/*)
	rm -rf $(BENCH_FIXTURES)
	/usr/bin/python3 scripts/fixtures/gen-fixtures.py --one large-x4 $(BENCH_FIXTURES)
	touch $@

bench: deps
	$(MAKE) --no-print-directory $(BENCH_BIN) $(BIN) $(GOPLUGIN) $(FIXTURES)/.stamp \
		$(BENCH_FIXTURES)/.stamp
	$(TEST_ENV) KGDP_GOPLUGIN=$(abspath $(GOPLUGIN)) \
		KGDP_BENCH_FIXTURES=$(abspath $(BENCH_FIXTURES)) $(BENCH_BIN)
