# llamapro: the README's entry points. Each target installs missing Debian packages and builds.
BUILD_DIR    ?= build
FUZZ_DIR     ?= build-fuzz
JOBS         ?= $(shell nproc)
BUILD_TYPE   ?= Release
CMAKE_FLAGS  ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build test demo bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

# Everything: the binary, the tests and the benchmarks.
build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The demo runs the binary alone: it builds nothing else.
demo: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target llamapro
	scripts/demo.sh $(BUILD_DIR)/llamapro

bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh $(BUILD_DIR)

# Coverage-guided fuzzing of the parsers of untrusted files (clang, libFuzzer + ASan/UBSan).
fuzz:
	@scripts/install-deps.sh --fuzz
	@test -f $(FUZZ_DIR)/build.ninja || CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLAMAPRO_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers
	scripts/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
