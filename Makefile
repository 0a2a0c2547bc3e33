# Two commands on a fresh machine: `make smoke` (set up + smoke pipeline), `make test` (set up + tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch this machine kind ships; on GPUs install your CUDA torch first (README).
TORCH_SPEC ?= torch==2.13.0
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
# pip here is configured with local index folders that may be absent; their warnings are noise.
PIP_QUIET := 2>&1 | { grep -v -e "is ignored: it is neither a file nor a directory" || true; }

# what `make test` runs of benchmarks/ (the DVC-scale and smoke-stage ones need minutes or the smoke's outputs)
QUICK_BENCHMARKS := benchmarks/test_step_time.py benchmarks/test_numerics_cost.py benchmarks/test_decoding.py \
	benchmarks/test_memory.py

.PHONY: setup smoke test benchmark clean

$(BIN)/ptbench: pyproject.toml requirements/base.txt requirements/test.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first: anything depending on it would otherwise pull a multi-GB CUDA build.
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q --no-compile "$(TORCH_SPEC)" $(PIP_QUIET)
	@$(BIN)/pip install -q --no-compile -r requirements/base.txt -r requirements/test.txt $(PIP_QUIET)
	@$(BIN)/pip install -q --no-deps -e . $(PIP_QUIET)
	@# The bytecode pip would compile package by package on one core, compiled on every core (~30 s less on 2).
	@# Needed: where PYTHONDONTWRITEBYTECODE is set, Python never caches what it compiles, and every import
	@# would compile again. Like pip, skip what does not compile (e.g. torch's Python-3.12-only test helpers).
	@$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	@touch $@

setup: $(BIN)/ptbench

smoke: setup
	$(BIN)/ptbench validate
	@# what it will run and cost here (a short calibration the first time, kept in .ptbench/)
	$(BIN)/ptbench plan --no-cache-check
	@# dvc repro with every stage forked from one warm process (src/ptbench/run/zygote.py): same numbers, no per-stage imports
	$(BIN)/ptbench repro
	@# the browsable example (docs/example/: the page, and its screenshot where a Chromium is installed)
	$(BIN)/ptbench example
	@echo "smoke tables:  $(abspath results/tables)  (main.md, main.csv, main.tex)"
	@echo "smoke figures: $(abspath results/figures)"
	@echo "smoke report:  $(abspath results/report/index.html)"

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder
	@# the benchmarks once each, untimed (make benchmark times them), so that they stay runnable
	$(BIN)/python -m pytest -q -n 2 --benchmark-disable $(QUICK_BENCHMARKS)

benchmark: setup
	$(BIN)/python -m pytest benchmarks -q --benchmark-enable --benchmark-only --benchmark-sort=name

clean:
	rm -rf $(VENV) .pytest_cache
