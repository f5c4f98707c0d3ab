# The two README commands: `make run` (the main job) and `make test`. Each creates and reuses a
# project-local virtual environment (.venv) by itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test test-fast setup browser valgrind sshd clean

run: $(STAMP)
	$(BIN)/torchperf run $(ARGS)

test: $(STAMP) browser valgrind sshd
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same setup as `test`, without the tests that build asv environments or drive a browser:
# the inner loop while editing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "torchperf needs Python >= 3.11; found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium. Installed when missing and we may (root or sudo);
# otherwise those tests are skipped with a message saying how to install it.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "note: chromium/chromedriver not installed and no root: browser tests will be skipped (apt-get install chromium chromium-driver)"; fi; \
	fi

# Instruction counts (`--metric instructions`, benchmarks/bench_instructions.py) run under Debian's
# valgrind. Installed like Chromium; without root the valgrind tests skip, saying how to install it.
valgrind:
	@if ! command -v valgrind >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; \
	  else echo "note: valgrind not installed and no root: instruction-count tests will be skipped (apt-get install valgrind)"; fi; \
	fi

# The fleet's tests (tests/test_fleet.py) start real OpenSSH servers: Debian's openssh-server,
# installed like Chromium; without root those tests skip, saying how to install it.
sshd:
	@if [ ! -x /usr/sbin/sshd ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null; \
	  else echo "note: openssh-server not installed and no root: fleet SSH tests will be skipped (apt-get install openssh-server)"; fi; \
	fi

clean:
	rm -rf $(VENV) .asv env
