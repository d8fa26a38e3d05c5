#!/usr/bin/env bash
# Mutation testing of the sender checks: every mutant of kmeet_bridge/mail/authentication.py
# and kmeet_bridge/mail/headers.py is run against tests/test_authentication.py and
# tests/test_headers.py (configuration: pyproject.toml, [tool.mutmut]). Prints the
# score and each surviving mutant; the README ("Development") lists the survivors
# accepted as equivalent, and why. Takes about four minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip install -q 'mutmut>=3.3,<4'
rm -rf mutants
.venv/bin/mutmut run >mutants.log 2>&1 || { tail -20 mutants.log; exit 1; }
.venv/bin/mutmut results --all true >mutants.txt
total=$(grep -c ': ' mutants.txt)
killed=$(grep -c ': killed$' mutants.txt || true)
echo "mutants: $total, killed: $killed, score: $((100 * killed / total)) %"
echo "not killed:"
grep -v ': killed$' mutants.txt | sed 's/^ */  /' || true
