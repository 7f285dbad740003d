#!/usr/bin/env bash
# Installs Debian's headless browser for the web report's browser test: chromium and
# chromium-driver (Selenium drives /usr/bin/chromedriver; nothing is downloaded at test
# time). Needs root and apt; does nothing when both are present, so it is safe to run again.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
apt-get update -qq
# fonts-liberation: chromium only recommends it, and pages without a font draw no text.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-liberation >/dev/null
