#!/usr/bin/env bash
# Sets everything up, then trains and sweeps the quickstart scenario on the CPU (about 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/semcom-sim run scenarios/quickstart.py --out runs/quickstart "$@"
