# Makefile - the whole kit: `make help` lists what is here.
#
#   make            build every lab          make 03       build lab 03
#   make race       build one program        make test     run the Criterion suite
#   make demo       the narrated tour        make bench    the benchmark tables
#
# Knobs: CC, CFLAGS, LDFLAGS, WERROR=1 (-Werror), SAN=thread or
# SAN=address,undefined (sanitizer builds, tests included), SIMPLE=1 (lab 05
# with its simple twins), BIN_DIR (where
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
# SIMPLE=1: lab 05 with its simple twins, tokenizer and combiner
# (SIMPLE=words or SIMPLE=combiner: one of them).  SIMPLE is part of the
# flags stamp below, so the builds never mix.
SIMPLEFLAGS := $(if $(filter 1 words,$(SIMPLE)),-DWORDS_SIMPLE=1)
KIT_CFLAGS  = $(STD) $(WARN) $(CFLAGS) $(SANFLAGS) $(SIMPLEFLAGS) -Icommon -pthread
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
$(eval $(call program,ui,         02,  ui.c))

# lab 03: race conditions
$(eval $(call program,race,       03,  race.c))
$(eval $(call program,deadlock,   03,  deadlock.c))

# lab 04: pipes and queues
$(eval $(call program,queue,      04,  queue.c bq.c))
$(eval $(call program,pipe,       04,  pipe.c))
$(eval $(call program,mpqueue,    04,  mpqueue.c))
$(eval $(call program,shm,        04,  shm.c))
$(eval $(call program,server,     04,  server.c server_net.c loadgen.c server_cli.c bq.c))

# lab 05: MapReduce.  The runtime in rooms, one per phase (mr_job.c first);
# SIMPLE=1 builds it with the simple combiner (and tokenizer: see words.c).
MR_COMBINER := $(if $(filter 1 combiner,$(SIMPLE)),mr_combiner_simple.c,mr_combiner.c)
MR_SRCS := mr_job.c mr_split.c mr_map.c mr_partition.c $(MR_COMBINER) \
           mr_reduce.c mr_merge.c mr_threads.c mr_procs.c mr_files.c \
           mr_fault.c mr_explain.c
$(eval $(call program,wc_mapper,   05,  wc_mapper.c words.c words_window.c words_simple.c kvline.c))
$(eval $(call program,wc_reducer,  05,  wc_reducer.c kvline.c))
$(eval $(call program,wordcount,   05,  wordcount.c $(MR_SRCS) words.c words_window.c words_simple.c))
$(eval $(call program,invindex,    05,  invindex.c $(MR_SRCS) words.c words_window.c words_simple.c))

# lab 05 on Open MPI: wordcount_mpi, compiled and linked by mpicc (Open
# MPI's wrapper, running $(CC): OMPI_CC) when mpicc is installed; `make 05`
# says how to get it when it is not.  Not in PROGRAMS: memcheck, stress and
# tests/test_cli.c run programs without mpirun (and Open MPI's own
# allocations would fill valgrind's report); tests/test_05_mpi.c covers it
# under mpirun, and skips with the reason when Open MPI is missing.
# It links the same rooms as ./wordcount (splitting, tokenizer, combiner,
# partition); MPI is only the transport.
MPICC         ?= mpicc
HAVE_MPICC    := $(shell command -v $(MPICC) 2>/dev/null)
MPI_PROGRAMS  := wordcount_mpi
# mpi.h's folders, for make lint (Open MPI's wrapper knows them)
MPI_INCLUDES  := $(if $(HAVE_MPICC),$(shell $(MPICC) --showme:compile 2>/dev/null))
wordcount_mpi_SRCS := $(addprefix 05-mapreduce/,wordcount_mpi.c $(MR_SRCS) words.c words_window.c words_simple.c)
$(BUILD_DIR)/05-mapreduce/wordcount_mpi.o: 05-mapreduce/wordcount_mpi.c $(BUILD_DIR)/flags.txt
	@mkdir -p $(@D)
	OMPI_CC=$(CC) $(MPICC) $(KIT_CFLAGS) -MMD -MP -c -o $@ $<
$(BIN_DIR)/wordcount_mpi: $(patsubst %.c,$(BUILD_DIR)/%.o,$(wordcount_mpi_SRCS)) $(BUILD_DIR)/libkit.a
	@mkdir -p $(@D)
	OMPI_CC=$(CC) $(MPICC) $(KIT_LDFLAGS) -o $@ $^ $(LDLIBS)
ifneq ($(abspath $(BIN_DIR)),$(CURDIR))
.PHONY: wordcount_mpi
wordcount_mpi: $(BIN_DIR)/wordcount_mpi
endif
ifneq ($(HAVE_MPICC),)
LAB_05_PROGRAMS += wordcount_mpi
all: $(BIN_DIR)/wordcount_mpi
else
all 05: mpi-missing
endif
.PHONY: mpi-missing
mpi-missing:
	@echo 'make: wordcount_mpi skipped: it needs Open MPI (sudo apt-get install openmpi-bin libopenmpi-dev)'

# ---- reusable modules (also linked into the test suite): one line each ----
$(eval $(call module,02-threads/pool.c))
$(eval $(call module,04-pipes-queues/bq.c))
$(eval $(call module,05-mapreduce/words.c))
$(eval $(call module,05-mapreduce/words_window.c))
$(eval $(call module,05-mapreduce/words_simple.c))
$(eval $(call module,05-mapreduce/kvline.c))
$(foreach f,$(MR_SRCS),$(eval $(call module,05-mapreduce/$(f))))

# ---------------------------------------------------------------------------

.DEFAULT_GOAL := all
.PHONY: all $(LABS) test test-run bench demo help clean check-packages check-criterion handout grade syscalls lint memcheck fuzz stress compare samples

all: $(addprefix $(BIN_DIR)/,$(PROGRAMS))

$(foreach l,$(LABS),$(eval $(l): $$(addprefix $(BIN_DIR)/,$$(LAB_$(l)_PROGRAMS))))

# Objects depend on the flags they were built with: change CC, CFLAGS or SAN
# and everything is rebuilt (otherwise a TSan object could end up in a plain
# build).
FLAGS_STAMP := $(BUILD_DIR)/flags.txt
FLAGS_NOW   := $(CC) $(KIT_CFLAGS) $(KIT_LDFLAGS) $(LDLIBS) SIMPLE=$(SIMPLE)
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
TEST_CFLAGS  = $(STD) $(WARN) $(CFLAGS) $(TEST_SAN) $(SIMPLEFLAGS) -Icommon -pthread
TEST_OBJS   := $(patsubst %.c,$(BUILD_DIR)/t/%.o,$(TEST_SRCS) $(MODULES) $(COMMON_SRCS))
# LAB=03 runs that lab's suites only (suites are named lab03_* and ex03_*).
TEST_ARGS   ?= $(if $(LAB),--filter '*$(LAB)_*/*')
# Criterion's runner leaks a few bytes on purpose; not ours to report.
TEST_ENV     = KIT_BIN_DIR=$(BIN_DIR) KIT_SAN=$(SAN) \
               LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

$(BUILD_DIR)/t/%.o: %.c $(FLAGS_STAMP) | check-packages
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(TEST_BIN): $(TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TEST_SAN) -pthread -o $@ $^ -lcriterion $(LDLIBS)

# What the suite needs beyond libc (Criterion; unifdef and strace for the
# classroom tests, Open MPI for wordcount_mpi, python3-joblib for the
# twins): install it, saying so, or say exactly how.  One line per package
# in tools/need-packages.sh.
check-packages:
	@sh tools/need-packages.sh "$(CC)"
check-criterion: check-packages

# A test that skips for want of an optional tool appends its one-line reason
# to $(SKIP_LOG); the reasons are repeated after Criterion's synthesis line.
# The runner's watchdog: Criterion's .timeout does not always stop a test
# that hangs inside the runner (a student's pool or bq that never returns
# was seen running 4 min past a 60 s timeout), so the whole run gets a
# budget, and a clear message when it is spent.  test-run runs the built
# suite without building (tests/test_common.c checks the watchdog with it).
SKIP_LOG    := $(BUILD_DIR)/test-skipped.txt
TEST_BUDGET ?= 1800
define run-tests
	@rm -f $(SKIP_LOG)
	@echo '$(TEST_ENV) $(TEST_BIN) $(TEST_ARGS)'
	@rc=0; $(TEST_ENV) KIT_SKIP_LOG=$(abspath $(SKIP_LOG)) timeout -k 10 $(TEST_BUDGET) $(TEST_BIN) $(TEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 124 ] || [ $$rc -eq 137 ]; then \
	  echo "make test: stopped after its budget of $(TEST_BUDGET) s (TEST_BUDGET): a test hangs past its .timeout; run it with --verbose to see which" >&2; \
	fi; \
	if [ -s $(SKIP_LOG) ]; then \
	  echo "make test: skipped for want of an optional tool:"; sort -u $(SKIP_LOG) | sed 's/^/  /'; fi; \
	exit $$rc
endef

# wordcount_mpi is built when Open MPI's mpicc is there (need-packages.sh
# installs it); without it the MPI tests skip, saying why.
test: check-packages all $(TEST_BIN) $(GRADE_BIN)
	@if command -v $(MPICC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(BIN_DIR)/wordcount_mpi; fi
	$(run-tests)

test-run:
	$(run-tests)

# ---- the classroom ---------------------------------------------------------
demo: all
	@BIN_DIR=$(BIN_DIR) PAUSE=$(PAUSE) LAB=$(LAB) sh tools/demo.sh

bench: all
	@BIN_DIR=$(BIN_DIR) LAB=$(LAB) sh tools/bench.sh

# Each C program beside its Python twin (NN-topic/*.py), one table; figures
# in dist/compare.json.  Debian's python3: python3-joblib installs there.
PYTHON ?= /usr/bin/python3
compare: all
	@BIN_DIR=$(BIN_DIR) LAB=$(LAB) PYTHON=$(PYTHON) sh tools/compare.sh

# Every README sample marked <!-- sample --> re-run and compared with the
# README (tools/check-samples.sh); UPDATE=1 rewrites the stale blocks and
# the <!-- sample-live --> ones from the current programs.
samples: all
	@BIN_DIR=$(BIN_DIR) UPDATE=$(UPDATE) sh tools/check-samples.sh

# ---- reliability: lint, memcheck, fuzz, stress --------------------------------
# Each target is a script in tools/ (read its header); make passes the facts
# it alone knows: the kit's flags, the registered programs, the modules.
FUZZ_SECONDS ?= 60
STRESS_RUNS  ?= 50
EFFECT_RUNS  ?= 20

# cppcheck + clang-tidy (.clang-tidy) + clang-format --dry-run (.clang-format).
lint:
	@LINT_CFLAGS='$(STD) -Icommon -pthread $(MPI_INCLUDES)' sh tools/lint.sh

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
	@echo '  make compare        each C program beside its Python twin (LAB=03 one lab)'
	@echo '  make handout        student version in dist/handout and dist/handout.tar.gz'
	@echo '  make grade          run the suite, print the score table, write grade.json'
	@echo '  make syscalls       strace: fork() and pthread_create() are both clone(2)'
	@echo '  make samples        every README sample re-run and compared (UPDATE=1 rewrites them)'
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
	rm -rf $(BUILD_DIR) dist grade.json $(addprefix $(BIN_DIR)/,$(PROGRAMS) $(MPI_PROGRAMS))

-include $(shell find $(BUILD_DIR) -name '*.d' 2>/dev/null)
