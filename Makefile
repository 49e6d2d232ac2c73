# train: build, data, tests and benchmarks. `make help` lists the targets.
CC      ?= gcc
CFLAGS  ?= -O2 -march=native
# -fno-math-errno: sqrtf need not set errno, so the optimizers' loops vectorise
CFLAGS  += -std=c11 -Wall -Wextra -fopenmp -fno-math-errno -MMD -MP -D_GNU_SOURCE -Isrc
LDLIBS  += -lz -lm
LDFLAGS += -fopenmp

# src/<layer>/<file>.c -> build/<layer>/<file>.o; commands/main.c holds main() and is left
# out of the objects the tests link.
SRC     := $(filter-out src/commands/main.c,$(wildcard src/*/*.c))
OBJ     := $(SRC:src/%.c=build/%.o)
TESTS   := $(patsubst tests/%.c,tests/bin/%,$(wildcard tests/test_*.c))
# which build ./train is, plain or mpi (`make MPI=1`, see below): rewritten when it changes
FLAVOUR := build/flavour
$(shell mkdir -p build && f=$(if $(filter 1,$(MPI)),mpi,plain) && \
        { [ "$$(cat $(FLAVOUR) 2>/dev/null)" = "$$f" ] || echo "$$f" > $(FLAVOUR); })

.PHONY: all deps data run test bench clean help asan asan-deps fuzz fuzz-deps valgrind valgrind-deps mpi-deps
all: train

help:
	@echo "make          build ./train (installs missing system packages first)"
	@echo "make run      install, fetch MNIST, build, train the default recipe"
	@echo "make data     fetch MNIST into data/mnist/ (checksums verified)"
	@echo "make test     build and run the whole test suite"
	@echo "make bench    speed and memory figures, against PyTorch when python3-torch is installed"
	@echo "make clean    remove build products (not data/ or runs/)"
	@echo "make asan     the whole test suite against an AddressSanitizer + UBSan build (build-asan/)"
	@echo "make fuzz     libFuzzer harnesses (clang) for the file and spec parsers, FUZZ_SECONDS each (60)"
	@echo "make valgrind a short training run and eval under valgrind (build-valgrind/)"
	@echo "make MPI=1    build ./train with Open MPI for mpirun (objects in build-mpi/)"

# Order-only: runs every time (it is quick) but never forces a rebuild.
deps:
	@sh scripts/deps.sh

build/%.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

ifneq ($(MPI),1)
train: build/commands/main.o $(OBJ) $(FLAVOUR)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)
endif

tests/bin/%: tests/%.c $(OBJ) tests/test.h
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(OBJ) $(LDFLAGS) $(LDLIBS)

data:
	@sh data/fetch.sh mnist

run: train data
	./train

test: train $(TESTS) data
	@sh tests/run.sh $(TESTS)

bench: train data
	@sh bench/bench.sh

clean:
	rm -rf build build-asan build-fuzz build-valgrind build-mpi tests/bin tests/tmp train

# ---- make asan: every test, and ./train itself, built with AddressSanitizer + UBSan into
# build-asan/ (objects, build-asan/train, build-asan/tests/), never touching build/ or ./train.
# The suite runs in build-asan/tree/, a mirror of this directory (a symlink per entry) whose
# ./train is the sanitized binary, so every test that runs ./train runs it; TRAIN_BIN names it
# too. Any sanitizer report (memory error, undefined behaviour, leak) ends the process with
# exit code 86, which no test expects. float-cast-overflow (a double out of range of the
# integer it is converted to) is not part of gcc's "undefined", so it is named. About two
# minutes on 2 cores, the build included.
SAN        := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_DIR   := build-asan
ASAN_OBJ   := $(SRC:src/%.c=$(ASAN_DIR)/%.o)
ASAN_TESTS := $(TESTS:tests/bin/%=$(ASAN_DIR)/tests/%)
ASAN_ENV   := ASAN_OPTIONS=detect_leaks=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
              TRAIN_BIN=$(CURDIR)/$(ASAN_DIR)/train

asan-deps:
	@sh scripts/deps.sh asan

$(ASAN_DIR)/%.o: src/%.c | asan-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -g $(SAN) -c $< -o $@

$(ASAN_DIR)/train: $(ASAN_DIR)/commands/main.o $(ASAN_OBJ)
	$(CC) $(LDFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(ASAN_DIR)/tests/%: tests/%.c $(ASAN_OBJ) tests/test.h
	@mkdir -p $(ASAN_DIR)/tests
	$(CC) $(CFLAGS) -g $(SAN) -Isrc -o $@ $< $(ASAN_OBJ) $(LDFLAGS) $(SAN) $(LDLIBS)

asan: $(ASAN_DIR)/train $(ASAN_TESTS) data
	@rm -rf $(ASAN_DIR)/tree && mkdir -p $(ASAN_DIR)/tree
	@for f in *; do case $$f in train|build*) ;; *) ln -s "$(CURDIR)/$$f" $(ASAN_DIR)/tree/;; esac; done
	@ln -s ../train $(ASAN_DIR)/tree/train
	@cd $(ASAN_DIR)/tree && $(ASAN_ENV) sh tests/run.sh $(ASAN_TESTS:%=$(CURDIR)/%)

# ---- make fuzz: libFuzzer harnesses tests/fuzz/fuzz_*.c, built with clang (+ ASan, UBSan)
# into build-fuzz/; each runs FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/NAME/
# (new inputs go to build-fuzz/corpus/NAME/, crashes to build-fuzz/crashes/).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build-fuzz
FUZZ_CFLAGS  := -std=c11 -Wall -Wextra -D_GNU_SOURCE -Isrc -fopenmp -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ     := $(SRC:src/%.c=$(FUZZ_DIR)/%.o)
FUZZERS      := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz-deps:
	@sh scripts/deps.sh fuzz

$(FUZZ_DIR)/%.o: src/%.c | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ) | fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJ) -lz -lm

fuzz: $(FUZZERS)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# ---- make valgrind: a short run and `train eval` of its checkpoint under memcheck; fails on
# any memory error or definite leak. Its own build in build-valgrind/: without -march=native,
# whose AVX-512 valgrind cannot execute (the GEMM still picks its AVX2 path at run time).
VG_DIR    := build-valgrind
VG_CFLAGS := $(filter-out -march=native,$(CFLAGS)) -g
VG_OBJ    := $(SRC:src/%.c=$(VG_DIR)/%.o)
VALGRIND  := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite

valgrind-deps:
	@sh scripts/deps.sh valgrind

$(VG_DIR)/%.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(VG_CFLAGS) -c $< -o $@

$(VG_DIR)/train: $(VG_DIR)/commands/main.o $(VG_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

valgrind: $(VG_DIR)/train data | valgrind-deps
	@rm -rf tests/tmp/valgrind
	$(VALGRIND) $(VG_DIR)/train --quiet --subset 256 --val 64 --steps 20 --model 784-32-10 \
	    --runs-dir tests/tmp/valgrind --force --run v --threads 1
	$(VALGRIND) $(VG_DIR)/train eval --ckpt tests/tmp/valgrind/v/last.safetensors --threads 1
	@# valgrind's CPU has no AVX-512, so --precision bf16 is refused unless the emulation is named
	@env -u TRAIN_KERNEL_BF16 $(VALGRIND) $(VG_DIR)/train --quiet --precision bf16 --steps 1 \
	    --runs-dir tests/tmp/valgrind --run nobf16 2> tests/tmp/valgrind/nobf16.err; test $$? = 2 && \
	    grep -q '^train: --precision bf16: this CPU has no AVX512-BF16' tests/tmp/valgrind/nobf16.err
	TRAIN_KERNEL_BF16=generic $(VALGRIND) $(VG_DIR)/train --quiet --subset 256 --val 64 --steps 20 \
	    --model 784-32-10 --precision bf16 --runs-dir tests/tmp/valgrind --force --run vb --threads 1
	TRAIN_KERNEL_BF16=generic $(VALGRIND) $(VG_DIR)/train eval --ckpt tests/tmp/valgrind/vb --threads 1
	@echo "valgrind: no memory errors, no definite leaks"

# ---- make MPI=1: ./train built with mpicc (Open MPI; scripts/deps.sh mpi installs Debian's
# openmpi-bin and libopenmpi-dev) from its own objects in build-mpi/, so the two builds never
# mix objects. build-mpi/train is that binary; `make MPI=1` copies it to ./train. $(FLAVOUR)
# holds which build ./train is and changes only when that changes, so switching between
# `make` and `make MPI=1` relinks ./train (FLAVOUR is set at the top).
MPICC    ?= mpicc
MPI_DIR  := build-mpi
MPI_OBJ  := $(SRC:src/%.c=$(MPI_DIR)/%.o)

mpi-deps:
	@sh scripts/deps.sh mpi

$(MPI_DIR)/%.o: src/%.c | mpi-deps
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -DTRAIN_MPI -c $< -o $@

$(MPI_DIR)/train: $(MPI_DIR)/commands/main.o $(MPI_OBJ)
	$(MPICC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ifeq ($(MPI),1)
train: $(MPI_DIR)/train $(FLAVOUR)
	cp $< $@
endif

-include $(wildcard $(MPI_DIR)/*/*.d)
-include $(wildcard build/*/*.d tests/bin/*.d $(ASAN_DIR)/*/*.d $(ASAN_DIR)/tests/*.d $(FUZZ_DIR)/*/*.d $(VG_DIR)/*/*.d)
