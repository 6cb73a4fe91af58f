#!/usr/bin/env bash
# Prepares compose/ for `docker compose up` (`make up` runs it). Keeps what
# exists; makes what is missing:
#
#   compose/secrets/s3_access_key, s3_secret_key   S3's root keys (the trainer
#                                                   and the predictors use them)
#   compose/secrets/trainer_token                   Bearer token of POST /train
#                                                   and PUT /models/.../aliases/...
#   compose/secrets/grafana_admin_password          Grafana's admin password
#   compose/.env                                    settings, from .env.example
#
# Secrets are random, or taken over from a compose/.env written before they
# became files. The folder is readable by its owner only; compose mounts each
# file read-only into the containers that need it.
set -euo pipefail
cd "$(dirname "$0")"

rand() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
old_env() { # NAME -> its value in an existing compose/.env, if any
	[[ -f .env ]] && sed -n "s/^$1=//p" .env | tail -1
	return 0
}
made=()
secret() { # file, random bytes, variable of an old compose/.env, prefix
	local f=secrets/$1 v
	[[ -s $f ]] && return
	v=$(old_env "$3")
	[[ -n $v ]] || v=${4:-}$(rand "$2")
	printf '%s' "$v" >"$f.tmp"
	# Readable by the containers' users (65532, 472...): the folder keeps
	# the other users of this machine out.
	chmod 644 "$f.tmp"
	mv "$f.tmp" "$f"
	made+=("$1")
}

mkdir -p secrets
chmod 700 secrets
secret s3_access_key 8 S3_ACCESS_KEY mf
secret s3_secret_key 24 S3_SECRET_KEY
secret trainer_token 24 TRAINER_TOKEN
secret grafana_admin_password 12 GRAFANA_ADMIN_PASSWORD
if ((${#made[@]})); then
	echo "compose/secrets/: made ${made[*]}"
else
	echo "compose/secrets/: kept"
fi
if [[ -e .env ]]; then
	echo "compose/.env: kept"
	if grep -qE '^(S3_ACCESS_KEY|S3_SECRET_KEY|TRAINER_TOKEN|GRAFANA_ADMIN_PASSWORD)=.' .env; then
		echo "compose/.env still holds secrets that compose no longer reads (they are files in compose/secrets/ now): delete those lines" >&2
	fi
else
	cp .env.example .env
	echo "compose/.env: written from .env.example"
fi
cat <<'EOT'
The trainer's token is compose/secrets/trainer_token; POST /train and PUT .../aliases/... need it:
  curl -X POST -H "Authorization: Bearer $(cat compose/secrets/trainer_token)" 'localhost:8080/train?wait=true'
Grafana's admin password is compose/secrets/grafana_admin_password.
EOT
