# make manifests: render and validate everything under deployments/
# (test/manifests/check.sh); part of make test.
.PHONY: manifests
manifests: deps
	sh test/manifests/check.sh $(abspath $(BUILD))

test: manifests
