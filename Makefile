# The two commands that do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/debug/vcs-recorder

.PHONY: deps build demo test e2e lint bench clean

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build --workspace --bins

# 10 s at 1280x720@30 of four synthetic participants, rendered locally.
demo: build
	@mkdir -p out
	$(BIN) render recorder/jobs/demo.yaml -o out/demo.mp4
	@ffprobe -v error -show_entries format=duration:stream=codec_name,width,height,r_frame_rate \
	  -of compact out/demo.mp4

# Every test; the e2e flows skip here without a cluster and run in `e2e`, against one.
test: deps
	$(CARGO) test --workspace --no-fail-fast
	@$(MAKE) --no-print-directory e2e

# The real-cluster tier: starts ../shared/k8s when it is there (see scripts/e2e).
e2e: deps
	@CARGO="$(CARGO)" scripts/e2e

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The e2e start-latency bench skips in the first run and runs against a cluster in the second.
bench: deps
	$(CARGO) bench --workspace
	@CARGO="$(CARGO)" scripts/e2e bench

clean:
	rm -rf out
