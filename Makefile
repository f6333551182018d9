# ModernCNNs: one command to run a chapter, one to run the tests. Both install the Debian
# packages the project needs first (only those missing; sudo is used when not root).

APT_PACKAGES := libopenblas-dev libpng-dev zlib1g-dev libcairo2-dev fonts-dejavu-core pkg-config dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHAPTER ?= Chapter7_5_BatchNorm
ARGS ?=

FUZZ_SECONDS ?= 60

.PHONY: setup run test fuzz release bench-compare clean

## Install the system packages that are missing.
setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## Run a chapter in a release build: make run [CHAPTER=Chapter7_5_BatchNorm] [ARGS="--full"]
run: setup
	swift run -c release $(CHAPTER) $(ARGS)

## Build and run every test.
test: setup
	swift test

## Fuzz the file readers with libFuzzer, FUZZ_SECONDS each: make fuzz [FUZZ_SECONDS=60]
fuzz: setup
	Tests/Fuzz/run.sh $(FUZZ_SECONDS)

## Build every chapter in release mode.
release: setup
	swift build -c release

## Our training speed next to PyTorch's, alternating per model (PyTorch in a venv outside the repo):
## make bench-compare TORCH_PYTHON=/path/to/venv/bin/python [MODELS=bn_lenet,regnetx32] [ROUNDS=3]
## (without MODELS or ROUNDS: compare.py's defaults, every model and 2 rounds)
TORCH_PYTHON ?=
MODELS ?=
ROUNDS ?=
bench-compare: setup
	@[ -n "$(TORCH_PYTHON)" ] || { echo "TORCH_PYTHON is not set: python3 -m venv DIR && DIR/bin/pip install torch, then TORCH_PYTHON=DIR/bin/python"; exit 2; }
	swift build -c release --product Benchmarks
	python3 bench/compare.py --torch-python $(TORCH_PYTHON) $(if $(MODELS),--models $(MODELS)) $(if $(ROUNDS),--rounds $(ROUNDS))

clean:
	rm -rf .build .build-fuzz out
