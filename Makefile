# routeledger: the two commands of the README, and the tools around them.
#   make demo   set up, generate demo data, ingest, build, serve http://127.0.0.1:8501
#   make test   set up (Python packages with pyspark, Chromium, Java) and run the whole suite
#   make bench  the benchmark (BENCH_CALLS=N, default 10M); writes bench/results.md
#   make lint   ruff on the Python, sqlfluff on sql/

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test bench lint browser java clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/routeledger demo

test: $(INSTALLED) browser java
	$(BIN)/python -m pytest

browser:
	./scripts/install-browser.sh

java:
	./scripts/install-java.sh

bench: $(INSTALLED)
	$(BIN)/python -m bench.run

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql

clean:
	rm -rf $(VENV) data/warehouse.duckdb* data/published data/demo bench/data
