#!/usr/bin/env bash
# Debian packages reglab's tests use: Chromium (browser test of the report, driven by
# Playwright through executable_path: never a downloaded browser), WordNet data (text
# augmentation through nltk's reader) and Apertium eng<->spa (offline back-translation).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
dpkg -s wordnet-sense-index >/dev/null 2>&1 || need+=(wordnet-sense-index)
command -v apertium >/dev/null 2>&1 || need+=(apertium)
dpkg -s apertium-eng-spa >/dev/null 2>&1 || need+=(apertium-eng-spa)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}; run as root: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
