#!/usr/bin/env bash
# The main job: set-up and build, then fit a small model and watch the loss fall.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
./build/tutorials/01_fit_a_curve "$@"
