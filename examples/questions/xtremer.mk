# Shared by the XTREME-R studies (mt5-xtreme-r/, multilingual-intermediate/): every arm of ARMS trains every
# task of TARGETS from its encoder, SEEDS seeds each, and is evaluated on every language; retrieval (RETRIEVAL)
# runs on each arm's encoder. The study defines ARMS (the first is `baseline`: the pretrained encoder
# $(OUT)/base itself, no intermediate training), the rule of each other arm's encoder
# $(OUT)/ARM/sSEED/encoder/stilt.json, TARGETS, RETRIEVAL and, for `make plan`, ARM_PLAN_ROWS (its
# intermediate stages). Results: $(RES)/ARM/sSEED/TASK.jsonl, and every result of an arm in $(RES)/ARM.jsonl.
# XQuAD and MLQA are both answered by the head trained on SQuAD v1.1 (trained once, as xquad); XCOPA's
# English training is SIQA, then COPA (XTREME-R's scripts/train_xcopa.sh)
ckpt_of = $(if $(filter mlqa,$(1)),xquad,$(1))
TRAIN_TASKS := $(sort $(foreach t,$(TARGETS),$(call ckpt_of,$(t))))
encoder_of = $(if $(filter baseline,$(1)),$(OUT)/base,$(OUT)/$(1)/s$(2)/encoder)
# the checkpoint a target stage starts from: the arm's encoder, or for XCOPA its SIQA stage
start_of = $(if $(filter xcopa,$(3)),$(OUT)/$(1)/s$(2)/siqa,$(call encoder_of,$(1),$(2)))

.PHONY: all
all: $(RES)/report.md
	@echo "report: $(RES)/report.md"

$(OUT)/base/stilt.json: $(DATA_STAMP)
	$(STILT) pretrain-load $(MODEL) -o $(OUT)/base --if-exists skip

# per arm and seed: XCOPA's SIQA stage; per arm, seed and task: the target stage and its evaluation
define SIQA_RULE
$(OUT)/$(1)/s$(2)/siqa/stilt.json: $(call encoder_of,$(1),$(2))/stilt.json
	$(LAUNCH) $(STILT) intermediate $(call encoder_of,$(1),$(2)) --task siqa $(call train_data,siqa) \
	  $(call train,$(2)) -o $(OUT)/$(1)/s$(2)/siqa
endef
define TARGET_RULE
$(OUT)/$(1)/s$(2)/$(3)/stilt.json: $(call start_of,$(1),$(2),$(3))/stilt.json
	$(LAUNCH) $(STILT) target $(call start_of,$(1),$(2),$(3)) --task $(3) $(call train_data,$(3)) $(call train,$(2),$(3)) \
	  -o $(OUT)/$(1)/s$(2)/$(3)
endef
define EVAL_RULE
$(RES)/$(1)/s$(2)/$(3).jsonl: $(OUT)/$(1)/s$(2)/$(call ckpt_of,$(3))/stilt.json
	$(STILT) evaluate $(OUT)/$(1)/s$(2)/$(call ckpt_of,$(3)) --task $(3) --langs all $(call eval_data,$(3)) --quiet -o $$@
endef
$(foreach a,$(ARMS),$(foreach s,$(SEED_LIST),\
  $(if $(filter xcopa,$(TARGETS)),$(eval $(call SIQA_RULE,$(a),$(s))))\
  $(foreach t,$(TRAIN_TASKS),$(eval $(call TARGET_RULE,$(a),$(s),$(t))))\
  $(foreach t,$(TARGETS),$(eval $(call EVAL_RULE,$(a),$(s),$(t))))))

# retrieval straight on each arm's encoder (XTREME-R's Tatoeba); the pretrained encoder's is seed-free
$(RES)/baseline/$(RETRIEVAL).jsonl: $(OUT)/base/stilt.json
	$(STILT) retrieve $(OUT)/base --task $(RETRIEVAL) $(call eval_data,$(RETRIEVAL)) --quiet -o $@
define RETRIEVAL_RULE
$(RES)/$(1)/s$(2)/$(RETRIEVAL).jsonl: $(OUT)/$(1)/s$(2)/encoder/stilt.json
	$(STILT) retrieve $(OUT)/$(1)/s$(2)/encoder --task $(RETRIEVAL) $(call eval_data,$(RETRIEVAL)) --quiet -o $$@
endef
$(foreach a,$(filter-out baseline,$(ARMS)),$(foreach s,$(SEED_LIST),$(eval $(call RETRIEVAL_RULE,$(a),$(s)))))

# every result of an arm (every seed and task) in one file
results_of = $(foreach s,$(SEED_LIST),$(foreach t,$(TARGETS),$(RES)/$(1)/s$(s)/$(t).jsonl)) \
  $(if $(filter baseline,$(1)),$(RES)/baseline/$(RETRIEVAL).jsonl,$(foreach s,$(SEED_LIST),$(RES)/$(1)/s$(s)/$(RETRIEVAL).jsonl))
define ARM_RESULTS_RULE
$(RES)/$(1).jsonl: $(call results_of,$(1))
	$$(call concat,$$^)
endef
$(foreach a,$(ARMS),$(eval $(call ARM_RESULTS_RULE,$(a))))
ARM_FILES = $(foreach a,$(ARMS),$(a)=$(RES)/$(a).jsonl)

# make plan: each arm's own intermediate stages (ARM_PLAN_ROWS, from the study), XCOPA's SIQA stage, the targets
PLAN_ROWS = $(foreach s,$(SEED_LIST),$(call ARM_PLAN_ROWS,$(s)) \
  $(foreach a,$(ARMS),$(if $(filter xcopa,$(TARGETS)),$(call plan_row,$(a),$(s),intermediate,siqa)) \
    $(foreach t,$(TRAIN_TASKS),$(call plan_row,$(a),$(s),target,$(t)))))
TRAIN_TARGETS = $(foreach a,$(ARMS),$(foreach s,$(SEED_LIST),$(foreach t,$(TRAIN_TASKS),$(OUT)/$(a)/s$(s)/$(t)/stilt.json)))

