.DEFAULT_GOAL := all
# checkpoints are directories whose stilt.json is the make target: never let make delete one as "intermediate"
.SECONDARY:
# Shared by the research-question examples. TINY=1: a tiny model and the offline demo data, for CI —
# it checks the wiring; its numbers mean nothing. Without TINY the examples run the real setting.
#
# Seeds: every trained arm runs SEEDS seeds (1..SEEDS; default 3, TINY 2), one folder per seed
# ($(OUT)/ARM/sSEED). Every training call passes --resume, so a job that a cluster pre-empted and requeued
# (stilt saves a resumable state and exits 75 on SIGUSR1/SIGTERM) continues from its saved step when make
# runs again, and a fresh one starts fresh. `make plan` lists the runs (arm x seed x task) and their
# GPU-hours through `stilt plan hours` before anything is trained; `make commands` prints the training
# commands, one per line, for a Slurm job array (examples/slurm/).
STILT ?= stilt
PY    ?= python3
LAUNCH ?=
GPU   ?= h100
ifeq ($(TINY),1)
  OUT   ?= tiny-runs
  DEMO  ?= $(OUT)/demo-data
  MAX_STEPS ?= 4
  STEPS ?= --max-steps $(MAX_STEPS) --eval-every 0
  PRESET ?= demo
  SEEDS ?= 2
  # a resumable state every 2 steps: the resume test interrupts a TINY run between two of them
  SAVE  ?= --save-every 2
else
  OUT   ?= runs
  DATA_DIR ?= data
  STEPS ?=
  PRESET ?= xstilts
  SEEDS ?= 3
  # signals (Slurm's --signal=USR1@120, a pre-emption's SIGTERM) always save a state; add e.g.
  # SAVE="--save-every 2000" to bound what a SIGKILL loses
  SAVE  ?=
endif
SEED_LIST := $(shell seq 1 $(SEEDS))
RES := $(OUT)/results
# tasks with no X-STILTs preset of their own (`stilt tasks TASK`): their stages take XTREME-R's settings
XTREME_ONLY ?= mewsli-x lareqa
preset_of = $(if $(filter $(XTREME_ONLY),$(1)),$(if $(TINY),$(PRESET),xtreme),$(PRESET))
# the options of every training call, for seed $(1) (and task $(2), whose preset it picks)
train = --preset $(call preset_of,$(2)) --seed $(1) --if-exists skip --resume $(SAVE) $(STEPS)

ifeq ($(TINY),1)
DEMO_LANGS ?= de,fr,ja,sw,ar
# train_data TASK[,TASK2] [SPLIT]: the demo JSONL of each task (train split unless given)
train_data = $(foreach t,$(subst $(comma),$(space),$(1)),--data $(t)=$(DEMO)/$(t)/$(or $(2),train).jsonl)
eval_data  = --data $(DEMO)/$(1)/test.jsonl
$(DEMO)/README.json:
	$(STILT) data demo -o $(DEMO) --langs $(DEMO_LANGS) --per-lang 20 --if-exists skip --quiet > /dev/null
DATA_STAMP := $(DEMO)/README.json
else
train_data = --data-dir $(DATA_DIR)
eval_data  = --data-dir $(DATA_DIR)
DATA_STAMP :=
endif
comma := ,
empty :=
space := $(empty) $(empty)

# concat FILES: the records of several files (e.g. every seed of an arm) in $@, or a clear error when none exist
concat = @mkdir -p $(@D) && $(if $(1),cat $(1) > $@.tmp && mv $@.tmp $@,\
  echo "error: no result files for $@ (hint: run the grid that writes them first)" >&2 && exit 1)

# ---- make plan: one JSON line per training run, priced by `stilt plan hours` ------------------------------
# plan_row ARM,SEED,STAGE,TASK[,MODEL]: what a run trains; TINY rows carry their step budget, full rows the
# preset (plan hours takes the examples of the task's training data and the preset's epochs)
ifeq ($(TINY),1)
  PLAN_SIZE = "steps":$(MAX_STEPS),"batch_size":8,"max_length":64
else
  PLAN_SIZE = "preset":"$(call preset_of,$(4))"
endif
plan_head = "run":"$(1)/s$(2)/$(4)","arm":"$(1)","seed":$(2),"stage":"$(3)","task":"$(4)"
plan_row = {$(plan_head),"model":"$(or $(5),$(MODEL))",$(PLAN_SIZE)}
.PHONY: plan commands
# a study whose runs are another study's (GRID_FROM) prices and lists none of its own
ifndef GRID_FROM
plan:
	@printf '%s\n' $(foreach r,$(PLAN_ROWS),'$(r)') | $(STILT) plan hours - --gpu $(GPU)
# the training commands of the grid, one per line, in dependency order (for examples/slurm/: one array task per
# line); STAGE=intermediate or STAGE=target keeps one stage, so that the targets' array can wait for the
# intermediate one (sbatch --dependency=afterok:JOBID)
commands:
	@$(MAKE) --no-print-directory -n -B $(TRAIN_TARGETS) | sed -e ':a' -e '/\\$$/N; s/\\\n *//; ta' \
	  | grep -E ' $(or $(STAGE),(intermediate|target)) '
endif
