# kubemu: the two commands a newcomer needs are `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODES ?= 3

.PHONY: venv up down status test test-fast lint protos bench clean

$(BIN)/kubemu: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/kubemu

## up: create .venv, install kubemu, start a local cluster (etcd, apiserver, scheduler, controller manager, kubelets)
up: venv
	$(BIN)/kubemu up --nodes $(NODES)

## down: stop the local cluster and every process it started
down:
	@if [ -x $(BIN)/kubemu ]; then $(BIN)/kubemu down; else echo "no .venv: nothing to stop"; fi

status: venv
	$(BIN)/kubemu status

## test: create .venv, install, run the whole suite (unit, integration with a real etcd, end-to-end processes)
test: venv
	$(BIN)/ruff check .
	$(BIN)/pytest -q -ra

test-fast: venv
	$(BIN)/pytest -q -m "not e2e"

lint: venv
	$(BIN)/ruff check .

## bench: run the performance benchmarks (SCENARIO=pod-startup|scheduler-throughput|density|watch-fanout|etcd-baseline,
## default all, one after the other); results in bench-results/<scenario>.json and .html, see docs/performance.md
SCENARIO ?= all
bench: venv
	$(BIN)/kubemu bench $(SCENARIO) $(BENCH_FLAGS)

## protos: regenerate machinery/pb from proto/
protos: venv
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
