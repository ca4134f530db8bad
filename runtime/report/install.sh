#!/usr/bin/env bash
# Installs what the report's browser test (tests/api/test_html_report.py) needs from Debian's packages: Chromium,
# run headless to lay out the page, read back its DOM and save a screenshot. Quick and silent when it is
# already there; safe to run again.
set -euo pipefail

PACKAGES=(
  chromium    # chromium --headless --dump-dom / --screenshot
)

exec bash "$(dirname "$0")/../../platforms/apt_install.sh" runtime/report/install.sh "${PACKAGES[@]}"
