# Thin wrapper over CMake. Everything real lives in CMakeLists.txt and scripts/.
#   make deps     install missing Debian packages (scripts/install-deps.sh)
#   make build    configure $(BUILD) if needed and build it
#   make check    deps + build + all tests, then an ASan/UBSan tree and its memcheck tests
#   make demo     deps + build + scripts/demo.sh (a private containerd running containers through our shim)
#   make bench    deps + a Release tree ($(BENCH_BUILD)) + bench/run.sh into bench/results
#   make package  deps + build + Debian packages with CPack (into $(BUILD))
#   make fuzz     deps + build + every libFuzzer target for FUZZ_SECONDS each (fuzz/fuzz-all.sh)
#   make install  install $(BUILD) into $(PREFIX) (DESTDIR honoured)
#   make format   clang-format -i over our C sources
#   make clean    remove the build trees
# Overridable: BUILD, ASAN_BUILD, BENCH_BUILD, JOBS, PREFIX, CMAKE_ARGS, CTEST_ARGS, FUZZ_SECONDS.

BUILD ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-release
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
CMAKE ?= cmake
CTEST ?= ctest
CMAKE_ARGS ?=
CTEST_ARGS ?=
FUZZ_SECONDS ?= 60

# Steps of one target depend on each other's results: never run them in parallel.
.NOTPARALLEL:
.PHONY: all deps build check check-asan demo bench package fuzz install format clean

all: build

deps:
	scripts/install-deps.sh

# cmake_install.cmake appears only when configure+generate succeeded (any generator),
# so a failed configure is retried next time.
$(BUILD)/cmake_install.cmake:
	$(CMAKE) -S . -B $(BUILD) -DTTRPC_WERROR=ON $(CMAKE_ARGS)

build: $(BUILD)/cmake_install.cmake
	$(CMAKE) --build $(BUILD) -j$(JOBS)

$(ASAN_BUILD)/cmake_install.cmake:
	$(CMAKE) -S . -B $(ASAN_BUILD) -DTTRPC_SANITIZE=ON -DTTRPC_WERROR=ON $(CMAKE_ARGS)

# --no-tests=error: a run that ran nothing must not count as a pass.
check: deps build
	$(CTEST) --test-dir $(BUILD) --no-tests=error --output-on-failure $(CTEST_ARGS)
	$(MAKE) --no-print-directory check-asan

check-asan: $(ASAN_BUILD)/cmake_install.cmake
	$(CMAKE) --build $(ASAN_BUILD) -j$(JOBS)
	$(CTEST) --test-dir $(ASAN_BUILD) -L memcheck --no-tests=error --output-on-failure $(CTEST_ARGS)

demo: deps build
	BUILD_DIR=$(BUILD) scripts/demo.sh

# The benchmark runs on its own Release tree, whatever $(BUILD) is.
bench: deps $(BENCH_BUILD)/cmake_install.cmake
	$(CMAKE) --build $(BENCH_BUILD) -j$(JOBS)
	@test -x bench/run.sh || { echo "make bench: bench/run.sh is missing" >&2; exit 1; }
	bench/run.sh $(BENCH_BUILD)

$(BENCH_BUILD)/cmake_install.cmake:
	$(CMAKE) -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DTTRPC_WERROR=ON $(CMAKE_ARGS)

package: deps build
	$(CMAKE) --build $(BUILD) --target package

fuzz: deps build
	@test -x fuzz/fuzz-all.sh || { echo "make fuzz: fuzz/fuzz-all.sh is missing" >&2; exit 1; }
	fuzz/fuzz-all.sh $(CURDIR) $(BUILD) $(FUZZ_SECONDS)

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

format:
	scripts/c-sources.sh | xargs -r clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)
