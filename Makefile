# Two commands on a fresh clone: `make demo` and `make test` (they create .venv themselves).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QV := $(VENV)/bin/qv

.PHONY: demo test lint venv test-servers bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: venv
	QV=$(QV) PY=$(PY) bash scripts/demo.sh

test-servers:
	bash scripts/install-test-servers.sh

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: venv test-servers lint
	$(PY) -m pytest -q

bench: venv
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .qv build dist src/*.egg-info
