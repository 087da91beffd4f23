.DEFAULT_GOAL := all
# checkpoints are directories whose stilt.json is the make target: never let make delete one as "intermediate"
.SECONDARY:
# Shared by the research-question examples. TINY=1: a tiny model and the offline demo data, for CI —
# it checks the wiring; its numbers mean nothing. Without TINY the examples run the real setting.
STILT ?= stilt
PY    ?= python3
LAUNCH ?=
SEED  ?= 1
ifeq ($(TINY),1)
  OUT   ?= tiny-runs
  DEMO  ?= $(OUT)/demo-data
  STEPS ?= --max-steps 4 --eval-every 0
  PRESET ?= demo
else
  OUT   ?= runs
  DATA_DIR ?= data
  STEPS ?=
  PRESET ?= xstilts
endif
RES := $(OUT)/results
TRAIN = --preset $(PRESET) --seed $(SEED) --if-exists skip $(STEPS)

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
