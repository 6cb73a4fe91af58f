#!/usr/bin/env bash
# Static checks of the Prometheus configuration (no server needed): both
# configs, the alert rules, the rules' unit tests, and that the tests show
# every alert both firing and not firing. `make test` runs it.
# Needs promtool (make test-tools installs it in .tools/bin).
set -euo pipefail
cd "$(dirname "$0")"
command -v promtool >/dev/null || { echo "promtool not found: make test-tools installs it in .tools/bin" >&2; exit 1; }

promtool check config --lint=all prometheus.yml prometheus.local.yml
promtool check rules --lint=all rules/*.yml
promtool test rules tests/*.yml

# Coverage: each alert needs a test case with exp_alerts: [] and one with
# expected alerts.
missing=$(
	awk '
		FNR == 1 { file = FILENAME }
		file ~ /^rules\// && $1 == "-" && $2 == "alert:" { alerts[$3] = 1 }
		file ~ /^tests\// && $1 == "alertname:" { name = $2 }
		file ~ /^tests\// && $1 == "exp_alerts:" { if ($2 == "[]") quiet[name] = 1; else firing[name] = 1 }
		END {
			for (a in alerts) {
				if (!(a in firing)) print a ": no test where it fires"
				if (!(a in quiet)) print a ": no test where it stays quiet"
			}
		}' rules/*.yml tests/*.yml
)
if [[ -n $missing ]]; then
	printf 'alert tests missing:\n%s\n' "$missing" >&2
	exit 1
fi
echo "every alert is tested firing and not firing ($(cat rules/*.yml | grep -c "^ *- alert:") alerts)"
