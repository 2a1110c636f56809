# reglab's two commands: `make lab` (the main job) and `make test`. Both do all set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.reglab-installed
STORE ?= lab-results/reglab.sqlite
REPORT ?= report
JOBS ?= 2

.PHONY: lab test docs venv system-deps lint bench bench-linear bench-torch bench-diagnostics clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the local CPU wheel; a bare `torch` would download a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[torch,dask,report,dev,docs,lightning]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

# Run every claim on its default grid, then render the report from the store.
lab: venv
	status=0; $(BIN)/reglab run --all --jobs $(JOBS) --store $(STORE) || status=$$?; \
	$(BIN)/reglab report --store $(STORE) --out $(REPORT) && exit $$status

lint: venv
	$(BIN)/ruff check reglab tests benchmarks examples
	$(BIN)/ruff format --check reglab tests benchmarks examples
	$(BIN)/mypy

# The documentation site: warnings are errors, the gallery is executed, and every internal
# link of the built HTML is checked offline.
DOCS_OUT ?= docs/_build/html
docs: venv
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/sphinx-build -W --keep-going -n -q -b html docs $(DOCS_OUT)
	$(BIN)/python docs/check_links.py $(DOCS_OUT)
	@echo "docs: $(DOCS_OUT)/index.html"

# one BLAS/OpenMP thread per test worker: two workers already fill the two cores, and
# oversubscribed OpenBLAS makes small linear algebra 10-25x slower on a loaded machine
test: venv system-deps lint docs
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25

# Benchmarks time reglab against its peers in one run; the peers live in their own venv
# (timm without its torchvision dependency, which does not import beside this torch).
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install -q --upgrade pip
	$(BENCH)/bin/python -m pip install -q torch==2.13.0
	$(BENCH)/bin/python -m pip install -q -e '.[torch,dask]' skglm celer glum python-glmnet
	$(BENCH)/bin/python -m pip install -q --no-deps timm
	touch $@

BENCH_ARGS ?= --quick
bench-linear: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/linear_paths.py $(BENCH_ARGS)
bench-torch: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/torch_overhead.py
bench-diagnostics: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/bias_variance.py $(BENCH_ARGS)
bench: bench-linear bench-torch bench-diagnostics

clean:
	rm -rf $(VENV) $(REPORT) lab-results .pytest_cache .ruff_cache .mypy_cache docs/_build docs/api docs/_generated docs/auto_examples
