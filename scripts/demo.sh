#!/usr/bin/env bash
# The main job: set-up and build, then train a classifier on Fashion-MNIST
# (Debian's dataset-fashion-mnist, installed when missing). Extra arguments
# go to xgrad-train: e.g. `bash scripts/demo.sh --model cnn`; see --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dataset-fashion-mnist
./build/xgrad-train "$@"
