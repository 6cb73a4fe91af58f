#!/usr/bin/env bash
# Writes compose/.env from compose/.env.example with fresh random secrets
# (S3 keys, Grafana admin password). An existing compose/.env is kept.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -e .env ]]; then
	echo "compose/.env exists: keeping it"
	exit 0
fi
rand() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
umask 077
sed -e "s/^S3_ACCESS_KEY=\$/S3_ACCESS_KEY=mf$(rand 8)/" \
	-e "s/^S3_SECRET_KEY=\$/S3_SECRET_KEY=$(rand 24)/" \
	-e "s/^GRAFANA_ADMIN_PASSWORD=\$/GRAFANA_ADMIN_PASSWORD=$(rand 12)/" \
	.env.example >.env.tmp
mv .env.tmp .env
echo "wrote compose/.env with random secrets (Grafana admin password: see GRAFANA_ADMIN_PASSWORD there)"
