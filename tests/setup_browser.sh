#!/bin/sh
# Installs headless Chromium and its WebDriver (Debian packages chromium and
# chromium-driver) for tests/test_report_browser.py. It installs only when the
# browser is missing and the user is root; otherwise it says so and leaves the
# system alone, and the browser tests skip with the reason.
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "setup_browser: Chromium is missing and this is not root; the browser tests will skip."
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_browser: Chromium is missing and apt-get is not available; the browser tests will skip."
    exit 0
fi
echo "setup_browser: installing chromium and chromium-driver ..."
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }; then
    echo "setup_browser: the install failed; the browser tests will skip."
fi
exit 0
