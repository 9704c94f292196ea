# Makefile - the whole kit: `make help` lists what is here.
#
#   make            build every lab          make 03       build lab 03
#   make race       build one program        make test     run the Criterion suite
#   make demo       the narrated tour        make bench    the benchmark tables
#
# Knobs: CC, CFLAGS, LDFLAGS, WERROR=1 (-Werror), SAN=thread or
# SAN=address,undefined (sanitizer builds, tests included), BIN_DIR (where
# programs land, default: here), BUILD_DIR (objects, default: build/).
# Needs GNU make.

CC        ?= cc
CFLAGS    ?= -O2 -g
LDFLAGS   ?=
BIN_DIR   ?= .
BUILD_DIR ?= build

STD      := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN     := -Wall -Wextra -Wpedantic
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
KIT_CFLAGS  = $(STD) $(WARN) $(CFLAGS) $(SANFLAGS) -Icommon -pthread
KIT_LDFLAGS = $(LDFLAGS) $(SANFLAGS) -pthread
LDLIBS      = -lm
ifeq ($(shell uname -s),Linux)
LDLIBS     += -lrt
endif

LABS := 01 02 03 04 05
LAB_DIR_01 := 01-processes
LAB_DIR_02 := 02-threads
LAB_DIR_03 := 03-race-conditions
LAB_DIR_04 := 04-pipes-queues
LAB_DIR_05 := 05-mapreduce

# The shared helpers every program links: errors, options, timing, tables, JSON.
COMMON_SRCS := $(wildcard common/*.c)

# program NAME, LAB, SOURCES (paths inside the lab's folder).  The first source
# is the one with main(); its second line, " * NAME.c - what it shows", is
# what `make help` prints.
define program
PROGRAMS += $(1)
LAB_$(strip $(2))_PROGRAMS += $(1)
$(1)_SRCS := $(addprefix $(LAB_DIR_$(strip $(2)))/,$(3))
$(BIN_DIR)/$(1): $$(patsubst %.c,$(BUILD_DIR)/%.o,$$($(1)_SRCS)) $(BUILD_DIR)/libkit.a
	@mkdir -p $$(@D)
	$$(CC) $$(KIT_LDFLAGS) -o $$@ $$^ $$(LDLIBS)
# `make race` names the program; when BIN_DIR is elsewhere it needs an alias.
ifneq ($(abspath $(BIN_DIR)),$(CURDIR))
.PHONY: $(1)
$(1): $(BIN_DIR)/$(1)
endif
endef

# module SOURCE: a reusable piece (bq_*, mr_*, pool_*) that the tests link too.
define module
MODULES += $(1)
endef

# ---- the labs: one line per program -------------------------------------
#                     name        lab  sources (main file first)
# lab 01: processes
$(eval $(call program,fork,       01,  fork.c))
$(eval $(call program,spawn,      01,  spawn.c))

# lab 02: threads
$(eval $(call program,threads,    02,  threads.c))
$(eval $(call program,gil,        02,  gil.c))
$(eval $(call program,coffee,     02,  coffee.c))
$(eval $(call program,parallel,   02,  parallel.c pool.c))

# lab 03: race conditions
$(eval $(call program,race,       03,  race.c))
$(eval $(call program,deadlock,   03,  deadlock.c))

# lab 04: pipes and queues
$(eval $(call program,queue,      04,  queue.c bq.c))
$(eval $(call program,pipe,       04,  pipe.c))
$(eval $(call program,mpqueue,    04,  mpqueue.c))
$(eval $(call program,shm,        04,  shm.c))
$(eval $(call program,server,     04,  server.c bq.c))

# lab 05: MapReduce
$(eval $(call program,wc_mapper,   05,  wc_mapper.c words.c kvline.c))
$(eval $(call program,wc_reducer,  05,  wc_reducer.c kvline.c))
$(eval $(call program,wordcount,   05,  wordcount.c mr.c words.c))
$(eval $(call program,invindex,    05,  invindex.c mr.c words.c))

# ---- reusable modules (also linked into the test suite): one line each ----
$(eval $(call module,02-threads/pool.c))
$(eval $(call module,04-pipes-queues/bq.c))
$(eval $(call module,05-mapreduce/words.c))
$(eval $(call module,05-mapreduce/kvline.c))
$(eval $(call module,05-mapreduce/mr.c))

# ---------------------------------------------------------------------------

.DEFAULT_GOAL := all
.PHONY: all $(LABS) test bench demo help clean check-criterion handout grade syscalls lint memcheck fuzz stress

all: $(addprefix $(BIN_DIR)/,$(PROGRAMS))

$(foreach l,$(LABS),$(eval $(l): $$(addprefix $(BIN_DIR)/,$$(LAB_$(l)_PROGRAMS))))

# Objects depend on the flags they were built with: change CC, CFLAGS or SAN
# and everything is rebuilt (otherwise a TSan object could end up in a plain
# build).
FLAGS_STAMP := $(BUILD_DIR)/flags.txt
FLAGS_NOW   := $(CC) $(KIT_CFLAGS) $(KIT_LDFLAGS) $(LDLIBS)
ifneq ($(FLAGS_NOW),$(shell cat $(FLAGS_STAMP) 2>/dev/null))
$(shell mkdir -p $(BUILD_DIR) && echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))
endif

$(BUILD_DIR)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(KIT_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD_DIR)/libkit.a: $(patsubst %.c,$(BUILD_DIR)/%.o,$(COMMON_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

# ---- tests -----------------------------------------------------------------
# The suite links the shared helpers and the modules itself, compiled into
# $(BUILD_DIR)/t.  Criterion cannot run under ThreadSanitizer (its runner's
# shared arena collides with TSan's memory map: Criterion issue #274), so with
# SAN=thread the runner is built without it and drives TSan-built programs;
# with SAN=address,undefined the runner is instrumented too.
TEST_SRCS   := $(wildcard tests/*.c)
TEST_BIN    := $(BUILD_DIR)/tests/kit-tests
GRADE_BIN   := $(BUILD_DIR)/tools/grade
# Not a lab program: the light load beside the demos in `make stress`.
LIGHTLOAD   := $(BUILD_DIR)/tools/lightload
TEST_SAN    := $(if $(findstring thread,$(SAN)),,$(SANFLAGS))
TEST_CFLAGS  = $(STD) $(WARN) $(CFLAGS) $(TEST_SAN) -Icommon -pthread
TEST_OBJS   := $(patsubst %.c,$(BUILD_DIR)/t/%.o,$(TEST_SRCS) $(MODULES) $(COMMON_SRCS))
# LAB=03 runs that lab's suites only (suites are named lab03_* and ex03_*).
TEST_ARGS   ?= $(if $(LAB),--filter '*$(LAB)_*/*')
# Criterion's runner leaks a few bytes on purpose; not ours to report.
TEST_ENV     = KIT_BIN_DIR=$(BIN_DIR) KIT_SAN=$(SAN) \
               LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

$(BUILD_DIR)/t/%.o: %.c $(FLAGS_STAMP) | check-criterion
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(TEST_BIN): $(TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TEST_SAN) -pthread -o $@ $^ -lcriterion $(LDLIBS)

# Criterion is the one dependency beyond libc: install it, or say exactly how.
check-criterion:
	@sh tools/need-criterion.sh "$(CC)"

test: all $(TEST_BIN) $(GRADE_BIN)
	$(TEST_ENV) $(TEST_BIN) $(TEST_ARGS)

# ---- the classroom ---------------------------------------------------------
demo: all
	@BIN_DIR=$(BIN_DIR) PAUSE=$(PAUSE) LAB=$(LAB) sh tools/demo.sh

bench: all
	@BIN_DIR=$(BIN_DIR) LAB=$(LAB) sh tools/bench.sh

# ---- reliability: lint, memcheck, fuzz, stress --------------------------------
# Each target is a script in tools/ (read its header); make passes the facts
# it alone knows: the kit's flags, the registered programs, the modules.
FUZZ_SECONDS ?= 60
STRESS_RUNS  ?= 50
EFFECT_RUNS  ?= 20

# cppcheck + clang-tidy (.clang-tidy) + clang-format --dry-run (.clang-format).
lint:
	@LINT_CFLAGS='$(STD) -Icommon -pthread' sh tools/lint.sh

# Every program's small default run under valgrind, children included.
memcheck: all
	@BIN_DIR=$(BIN_DIR) PROGRAMS='$(PROGRAMS)' sh tools/memcheck.sh

# libFuzzer targets tests/fuzz/fuzz_*.c (clang), FUZZ_SECONDS each.
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_DIR=$(BUILD_DIR)/fuzz \
	  FUZZ_CFLAGS='$(STD) -Icommon -pthread' FUZZ_SRCS='$(COMMON_SRCS) $(MODULES)' \
	  FUZZ_LIBS='$(LDLIBS)' sh tools/fuzz.sh

# The concurrency checks STRESS_RUNS times each; any run that differs fails.
# Then the demo-effect rates, EFFECT_RUNS default runs each, as the machine
# is and beside the light load (LIGHTLOAD, tools/lightload.c).
stress: all $(LIGHTLOAD)
	@BIN_DIR=$(BIN_DIR) PROGRAMS='$(PROGRAMS)' STRESS_RUNS=$(STRESS_RUNS) \
	  LIGHTLOAD=$(LIGHTLOAD) EFFECT_RUNS=$(EFFECT_RUNS) sh tools/stress.sh


$(LIGHTLOAD): $(BUILD_DIR)/tools/lightload.o $(BUILD_DIR)/libkit.a
	@mkdir -p $(@D)
	$(CC) $(KIT_LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- classroom: handout, grade, syscalls ---------------------------------------
$(GRADE_BIN): $(BUILD_DIR)/tools/grade.o $(BUILD_DIR)/libkit.a
	@mkdir -p $(@D)
	$(CC) $(KIT_LDFLAGS) -o $@ $^ $(LDLIBS)

# The student version: solutions replaced by stubs (see tools/handout.sh).
handout:
	@if [ -f tools/handout.sh ]; then sh tools/handout.sh dist; \
	 else echo 'make handout: this is the student handout already'; fi

# Run the suite once with Criterion's TAP report and score it: a table, and
# grade.json.  GRADE_ARGS passes Criterion options (e.g. --filter 'ex*/*').
grade: all $(TEST_BIN) $(GRADE_BIN)
	@$(TEST_ENV) GRADE_REPORT=$(BUILD_DIR)/test-report.tap \
	  sh tools/grade.sh $(TEST_BIN) $(GRADE_BIN) $(GRADE_ARGS)

# fork() and pthread_create() are both clone(2): strace shows the flags.
syscalls: $(BIN_DIR)/spawn
	@BIN_DIR=$(BIN_DIR) sh tools/syscalls.sh

help:
	@echo 'Targets:'
	@echo '  make / make all     build every program (binaries land in $(BIN_DIR))'
	@echo '  make 01 ... make 05 build one lab;  make NAME builds one program'
	@echo '  make test           run the Criterion suite (LAB=03 for one lab)'
	@echo '  make demo           narrated tour of the lecture (PAUSE=1 waits for Enter, LAB=03 one lab)'
	@echo '  make bench          benchmark tables (reported, never pass/fail)'
	@echo '  make handout        student version in dist/handout and dist/handout.tar.gz'
	@echo '  make grade          run the suite, print the score table, write grade.json'
	@echo '  make syscalls       strace: fork() and pthread_create() are both clone(2)'
	@echo '  make lint           cppcheck, clang-tidy and clang-format over every C file'
	@echo '  make memcheck       every program under valgrind (leaks, errors; children too)'
	@echo '  make fuzz           libFuzzer targets in tests/fuzz, FUZZ_SECONDS each (default 60)'
	@echo '  make stress         concurrency checks STRESS_RUNS times each (default 50),'
	@echo '                      then how often each demo shows its effect (EFFECT_RUNS, 20)'
	@echo '  make clean          remove binaries and build/'
	@echo '  knobs: CC=clang  WERROR=1  SAN=thread  SAN=address,undefined'
	@echo
	@echo 'Programs:'
	@$(foreach l,$(LABS),$(foreach p,$(LAB_$(l)_PROGRAMS),\
	  printf '  %-2s %-12s %s\n' '$(l)' '$(p)' "$$(sed -n '2s/^ \* [^ ]* - //p' $(firstword $($(p)_SRCS)))";))

clean:
	rm -rf $(BUILD_DIR) dist grade.json $(addprefix $(BIN_DIR)/,$(PROGRAMS))

-include $(shell find $(BUILD_DIR) -name '*.d' 2>/dev/null)
