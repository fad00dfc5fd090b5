# Everything a new machine needs, from scratch: `make app`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Triton releases the compile paths are tested against (3.6.0 is the GPU machine's and the venv's).
VERSIONS := 3.0.0 3.1.0 3.2.0 3.3.1 3.4.0 3.5.1 3.6.0 3.7.1 3.8.0 3.9.0
EXAMPLE ?= examples/matmul.py

.PHONY: app test lint versions bench clean

$(BIN)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# each release unpacked on its own; a test process puts one of them first on PYTHONPATH
versions: $(foreach v,$(VERSIONS),.triton-versions/$(v)/.done)
.triton-versions/%/.done: | $(BIN)/.installed
	$(BIN)/pip install -q --no-deps --target .triton-versions/$* triton==$*
	touch $@

# the app in a terminal; without one (CI), `workbench` prints the compile summary instead
app: $(BIN)/.installed
	$(BIN)/workbench $(EXAMPLE)

# the layers one way, the app free of torch/triton, the engine free of textual (pyproject's contracts)
lint: $(BIN)/.installed
	$(BIN)/ruff check workbench tests benchmarks examples
	$(BIN)/lint-imports

test: $(BIN)/.installed versions lint
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_compile.py

clean:
	rm -rf $(VENV) .triton-versions examples/.workbench
