#!/usr/bin/env bash
# Build the documentation site (mkdocs + Material, from docs/ and mkdocs.yml) with --strict: a
# broken link, a missing page or any other warning fails. Its own environment, .venv-docs/, with
# pinned versions (the site needs nothing from cptbench's .venv). Extra arguments go to mkdocs,
# e.g. `./scripts/docs.sh --site-dir site` to keep the HTML; default: a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv-docs/bin/python ] || "$PYTHON" -m venv .venv-docs
.venv-docs/bin/python -m pip install --quiet --disable-pip-version-check "mkdocs==1.6.1" "mkdocs-material==9.8.2"
site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
NO_MKDOCS_2_WARNING=1 .venv-docs/bin/mkdocs build --strict --site-dir "$site" "$@"
