# make demo  - set up .venv and run the main job on the built-in phantom
# make test  - set up .venv and run the test suite (slow tests excluded; make test-slow runs them)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_OUT ?= runs/demo
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-slow bench clean

# The CPU wheel of torch goes in first: an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/synthgen run configs/run/demo.yaml --out $(DEMO_OUT)

# pytest's exit code 5 (no test collected) must fail, never pass silently.
test: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" -n 2 -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-slow: $(VENV)/.installed
	$(PY) -m pytest -m slow -n 2 -q

bench: $(VENV)/.installed
	$(PY) bench/phantom_throughput.py
	$(PY) bench/prepare_throughput.py
	$(PY) bench/export_speed.py
	$(PY) bench/audit_scale.py
	$(PY) bench/validate_speed.py --threads 1

clean:
	rm -rf $(VENV) runs .pytest_cache
