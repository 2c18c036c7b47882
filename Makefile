# akkoord: `make demo` starts the portal with a demo firm, `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install migrate bench migration clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	NEED_POSTGRES=0 deploy/local/ensure-services.sh
	exec $(VENV)/bin/akkoord demo

test: $(STAMP)
	NEED_POSTGRES=1 deploy/local/ensure-services.sh
	$(PY) -m pytest -q -p no:randomly $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) -m chassis.migrations

bench: $(STAMP)
	NEED_POSTGRES=1 deploy/local/ensure-services.sh
	$(PY) -m bench $(BENCH)

# make migration SERVICE=identity MSG="add clients"
migration: $(STAMP)
	$(PY) -c "from chassis.migrations import new_revision; new_revision('$(SERVICE)', '$(MSG)')"

clean:
	rm -rf $(VENV) var
