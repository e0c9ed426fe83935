#!/usr/bin/env bash
# Installs Debian's headless Chromium for the report's screenshot test, where it can.
# Never fails the build: without Chromium that one test is skipped with a reason.
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: could not install chromium; the report screenshot test will be skipped"
fi
exit 0
