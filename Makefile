# train: build, data, tests and benchmarks. `make help` lists the targets.
CC      ?= gcc
CFLAGS  ?= -O2 -march=native
CFLAGS  += -std=c11 -Wall -Wextra -fopenmp -MMD -MP -D_GNU_SOURCE
LDLIBS  += -lz -lm
LDFLAGS += -fopenmp

SRC     := $(filter-out src/main.c,$(wildcard src/*.c))
OBJ     := $(SRC:src/%.c=build/%.o)
TESTS   := $(patsubst tests/%.c,tests/bin/%,$(wildcard tests/test_*.c))

.PHONY: all deps data run test clean help
all: train

help:
	@echo "make          build ./train (installs missing system packages first)"
	@echo "make run      install, fetch MNIST, build, train the default recipe"
	@echo "make data     fetch MNIST into data/mnist/ (checksums verified)"
	@echo "make test     build and run the whole test suite"
	@echo "make clean    remove build products (not data/ or runs/)"

# Order-only: runs every time (it is quick) but never forces a rebuild.
deps:
	@sh scripts/deps.sh

build/%.o: src/%.c | deps
	@mkdir -p build
	$(CC) $(CFLAGS) -c $< -o $@

train: build/main.o $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/bin/%: tests/%.c $(OBJ) tests/test.h
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(OBJ) $(LDFLAGS) $(LDLIBS)

data:
	@sh data/fetch.sh mnist

run: train data
	./train

test: train $(TESTS) data
	@sh tests/run.sh $(TESTS)

clean:
	rm -rf build tests/bin tests/tmp train

-include $(wildcard build/*.d tests/bin/*.d)
