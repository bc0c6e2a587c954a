# The commands a person runs. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODEL_DIR ?= models/current
# Train on the original data when a user has put it in data/, else on generated demo data.
TRAIN_DATA ?= $(if $(wildcard data/Loan.csv),data/Loan.csv,data/synthetic.csv)

.PHONY: help install browser java wrk model run test lint bench portfolio-bench soak overload fuzz clean tools check-infra images smoke-images sam-local events drift-bench

help:
	@echo "make run    set up, train a model if there is none, serve on http://127.0.0.1:8000"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make model  (re)train the model bundle in $(MODEL_DIR) from $(TRAIN_DATA)"
	@echo "make check-infra   cfn-lint, sam validate --lint, hadolint, actionlint, checkov"
	@echo "make images        build both images (podman, local stand-in bases; see .ci/podman.sh)"
	@echo "make smoke-images  run both images: ECS over HTTP, Lambda through the emulator"
	@echo "make sam-local     sam build, sam local invoke (every event), sam local start-api over HTTP (podman)"
	@echo "make events        regenerate tests/events/ with sam local generate-event"
	@echo "make bench  benchmark table: each figure beside its floor (README: Performance)"
	@echo "make portfolio-bench  loan-risk score on 2,000,000 generated rows beside raw CatBoost, and Spark local[2]"
	@echo "make soak   5 minutes of mixed traffic on loopback: no 5xx, no memory growth"
	@echo "make overload  floods on loopback (1,024 connections): shedding on and off, side by side"
	@echo "make drift-bench   the stability report over 1,000,000 decision records: time and memory"
	@echo "make fuzz   schemathesis, 2,000 examples per operation and mode (make test runs 200)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[train,dev]'
	touch $@

install: $(VENV)/.installed

data/synthetic.csv: | $(VENV)/.installed
	$(BIN)/python -m training synth --rows 10000 --out $@

$(MODEL_DIR)/manifest.json: | $(VENV)/.installed $(TRAIN_DATA)
	$(BIN)/python -m training train --data $(TRAIN_DATA) --out $(MODEL_DIR)

model: | $(VENV)/.installed $(TRAIN_DATA)
	$(BIN)/python -m training train --data $(TRAIN_DATA) --out $(MODEL_DIR)

run: $(MODEL_DIR)/manifest.json
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m lambda_app

# The browser tests drive Debian's chromium (never a browser Playwright downloads: the network
# is closed). Install it when missing and we may; otherwise those tests skip and say why.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null) \
		|| echo "warning: could not install chromium; the browser tests will skip"; \
	fi

# The JVM for pyspark (the Spark path's tests run it in local[2]): Debian's headless JRE.
# Installed when missing and we may; otherwise those tests skip and say why.
java:
	@if ! command -v java >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null) \
		|| echo "warning: could not install openjdk-17-jre-headless; the Spark tests will skip"; \
	fi

# wrk, the HTTP load generator of `make bench` and `make soak` (Debian's package).
wrk:
	@if ! command -v wrk >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
		|| echo "warning: could not install wrk; the HTTP benchmarks will be skipped"; \
	fi

bench: $(MODEL_DIR)/manifest.json wrk
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m benchmarks

portfolio-bench: $(MODEL_DIR)/manifest.json java
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m benchmarks.portfolio

soak: $(MODEL_DIR)/manifest.json wrk
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m benchmarks.soak

overload: $(MODEL_DIR)/manifest.json wrk
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m benchmarks.overload

drift-bench: $(MODEL_DIR)/manifest.json
	MODEL_URI=$(MODEL_DIR) $(BIN)/python -m benchmarks.drift

fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q -s tests/lambda_app/api/test_fuzz.py

# The Lambda Runtime Interface Emulator ships inside the aws-sam-cli wheel (PyPI); the host test
# of the real runtime interface uses it (tests/deploy/test_runtime_interface.py skips without it).
RIE := $(BIN)/aws-lambda-rie
SAM_CLI := $(shell grep '^aws-sam-cli==' .ci/tools-requirements.txt)
$(RIE): | $(VENV)/.installed
	@d=$$(mktemp -d) && $(BIN)/pip download -q --no-deps --dest $$d '$(SAM_CLI)' \
	  && $(BIN)/python -c 'import sys, zipfile, glob; sys.stdout.buffer.write(zipfile.ZipFile(glob.glob(sys.argv[1] + "/aws_sam_cli-*.whl")[0]).read("samcli/local/rapid/aws-lambda-rie-" + sys.argv[2]))' \
	     $$d $$(uname -m | sed 's/aarch64/arm64/') >$$d/rie \
	  && install -m 755 $$d/rie $@ \
	  || echo "warning: could not fetch aws-lambda-rie; the runtime interface test will skip"; \
	rm -rf $$d

test: $(VENV)/.installed browser java $(RIE)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Infrastructure linters live in their own venv: aws-sam-cli and checkov pin many dependencies.
TOOLS := .venv-tools
$(TOOLS)/.installed: .ci/tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --upgrade pip
	$(TOOLS)/bin/pip install -q -r .ci/tools-requirements.txt
	touch $@

tools: $(TOOLS)/.installed

check-infra: $(TOOLS)/.installed
	TOOLS=$(TOOLS)/bin .ci/check-infra.sh

# Both Dockerfiles exactly as GitHub builds them, with podman (no Docker engine here).
images: $(MODEL_DIR)/manifest.json
	.ci/podman.sh build Dockerfile.ecs loan-risk-ecs:local --build-arg MODEL_DIR=$(MODEL_DIR)
	.ci/podman.sh build Dockerfile.lambda loan-risk-lambda:local --build-arg MODEL_DIR=$(MODEL_DIR)

smoke-images:
	$(PYTHON) .ci/smoke.py images --engine podman

# The README's SAM CLI commands through podman's Docker API (.ci/sam_local.py says how); podman
# and the stand-in base images come from .ci/podman.sh, the SAM CLI from .venv-tools.
sam-local: $(TOOLS)/.installed $(MODEL_DIR)/manifest.json
	$(PYTHON) .ci/sam_local.py --sam $(TOOLS)/bin/sam

# API Gateway test events as `sam local generate-event` makes them, with the example applicant.
events: $(TOOLS)/.installed $(VENV)/.installed
	PATH=$(TOOLS)/bin:$$PATH SAM_CLI_TELEMETRY=0 $(BIN)/python .ci/events.py tests/events

clean:
	rm -rf $(VENV) $(TOOLS) models data/synthetic.csv data/synthetic.csv.json .pytest_cache .mypy_cache .ruff_cache
