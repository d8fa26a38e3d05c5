#!/usr/bin/env bash
# Runs the whole test suite on a bare Debian machine: installs the Debian
# packages the real-server tests need (Dovecot, systemd-analyze; debootstrap and
# systemd-nspawn for the boot test), creates a
# virtual environment with the project and its test extras, lints, and runs
# pytest. Extra arguments go to pytest (e.g. scripts/test.sh -k mailbox).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(dovecot-imapd systemd systemd-container debootstrap openssl python3-venv)
if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${DEBIAN_PACKAGES[@]}" >/dev/null
fi

python=${PYTHON:-python3}
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q -e '.[test]'

"$venv/bin/ruff" check kmeet_bridge tests
"$venv/bin/ruff" format --check kmeet_bridge tests
"$venv/bin/python" -m pytest "$@"
