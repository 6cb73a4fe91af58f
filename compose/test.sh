#!/usr/bin/env bash
# End-to-end test of compose/compose.yaml on the local Docker engine, with no
# registry access:
#
#   1. builds local stand-ins of the public base images under names of their
#      own (test/standins.sh) and points compose at them through the image
#      variables (GO_IMAGE, RUNTIME_IMAGE, VERSITYGW_IMAGE, PROMETHEUS_IMAGE);
#   2. copies the work tree to a temporary directory, makes its secrets and
#      compose/.env with compose/init-env.sh as a user would, and serves this
#      machine's Go module cache as the builds' GOPROXY (test/modproxy.go), so
#      that the image builds download nothing from outside;
#   3. builds the images with compose, checks size, user, labels, healthcheck;
#   4. runs the scenario: up -> every container healthy, with CPU and memory
#      limits and no secret in its configuration -> POST /train needs the
#      token -> both predictor replicas serve the model -> a second run
#      hot-swaps both -> Prometheus scrapes both replicas (up == 1) and its
#      lifecycle API is off -> every Grafana variable and panel query returns
#      data and every alert rule evaluates (devstack querycheck) -> one
#      predictor killed -> the other keeps serving -> S3 stopped and the other
#      predictor restarted: it serves the model from its cache volume ->
#      down -v leaves no container, network or volume behind;
#   5. removes the images it built, stand-ins included, and checks that none
#      is left.
#
# Grafana runs only when its image is present (it has no offline stand-in);
# its dashboard queries are checked against Prometheus either way.
# Every request goes to 127.0.0.1 (the ports compose publishes there).
# Images are built with BuildKit when the buildx plugin is there (BuildKit
# then fetches the Dockerfile frontend named by `# syntax=`, which needs a
# registry), else with the classic builder.
#
# Usage: compose/test.sh [--keep]   (--keep leaves the stack and its images up at the end)
# Environment: COMPOSE (compose command; default `docker compose` when
# available, else docker-compose), COMPOSE_TEST_RUN_ID (default: the UTC
# time and this shell's pid), COMPOSE_TEST_PROJECT (project name, default
# modelferry-composetest-<run id>), COMPOSE_TEST_KEEP_STANDINS=1 (keep the
# stand-ins for the next run: ~4 minutes less; they are then named
# modelferry-standin/..., shared by the runs that keep them), STANDIN_REPO
# (their repository, default modelferry-standin-<run id>),
# PREDICTOR_IMAGE_LIMIT_MB (default 25) and TRAINER_IMAGE_LIMIT_MB
# (default 30: the console's html/template keeps the linker from dropping
# unused methods, about 11 MB): each service image must be at most that. Needs root, docker, go, prometheus on PATH (make
# compose-test puts .tools/bin first), curl, jq, git, ss, debootstrap.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# One id per run names its compose project and its stand-ins, so that two
# runs on one engine neither share nor remove each other's containers,
# volumes or images. Stand-ins kept for the next run
# (COMPOSE_TEST_KEEP_STANDINS=1) keep the shared names instead.
run_id=${COMPOSE_TEST_RUN_ID:-$(date -u +%Y%m%d%H%M%S)-$$}
project=${COMPOSE_TEST_PROJECT:-modelferry-composetest-$run_id}
if [[ ${COMPOSE_TEST_KEEP_STANDINS:-} == 1 ]]; then
	export STANDIN_REPO=${STANDIN_REPO:-modelferry-standin}
	mine=label=org.modelferry.standin
else
	export STANDIN_REPO=${STANDIN_REPO:-modelferry-standin-$run_id} STANDIN_RUN=$run_id
	mine=label=org.modelferry.standin.run=$run_id
fi
keep=0
[[ ${1:-} == --keep ]] && keep=1
t0=$(date +%s)

log() { printf '[compose-test %4ds] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}
for tool in docker go curl jq git ss prometheus; do
	command -v "$tool" >/dev/null || fail "$tool is missing"
done

# --- tools --------------------------------------------------------------
# The Dockerfiles need no BuildKit. Docker 23+ clients refuse BuildKit
# without the buildx plugin, so without it the classic builder builds.
if docker buildx version >/dev/null 2>&1; then
	export DOCKER_BUILDKIT=1
else
	export DOCKER_BUILDKIT=0
fi
if [[ -n ${COMPOSE:-} ]]; then
	read -r -a compose_cmd <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
	compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	fail "neither docker compose nor docker-compose found"
fi

ctx=$(mktemp -d /var/tmp/modelferry-compose-ctx.XXXXXX)
outdir=$(mktemp -d /tmp/modelferry-compose-out.XXXXXX)
stack_up=0
modproxy_pid=
goproxy=
# GOPROXY (the image builds') is set here: a variable of the shell would win
# over compose/.env.
compose() { GOPROXY=$goproxy "${compose_cmd[@]}" -p "$project" --env-file "$ctx/compose/.env" -f "$ctx/compose/compose.yaml" "$@"; }

# remove_images removes the service images and, unless they are to be kept,
# the stand-ins this run built, then the untagged build stages left by the
# classic builder (they carry the stand-ins' label).
images_removed=0
remove_images() {
	((images_removed)) && return
	images_removed=1
	docker rmi "$project/trainer:test" "$project/predictor:test" >/dev/null 2>&1
	docker image prune -f --filter "$mine" >/dev/null
	if [[ ${COMPOSE_TEST_KEEP_STANDINS:-} != 1 && -s $outdir/standins-built ]]; then
		# Newest first: the Debian stand-in is the base of two others.
		tac "$outdir/standins-built" | xargs docker rmi >/dev/null
	fi
	return 0
}

cleanup() {
	local rc=$?
	set +e
	if ((stack_up)); then
		if ((rc != 0)); then
			log "logs of the failed run (last 60 lines per service):"
			compose ps >&2
			compose logs --no-color --tail=60 >&2
		fi
		if ((keep)); then
			log "--keep: the stack stays up; remove it with: ${compose_cmd[*]} -p $project --env-file $ctx/compose/.env -f $ctx/compose/compose.yaml down -v"
		else
			compose down -v --remove-orphans >"$outdir/down.log" 2>&1 || cat "$outdir/down.log" >&2
		fi
	fi
	[[ -n $modproxy_pid ]] && kill "$modproxy_pid"
	((keep)) || remove_images
	((keep)) || rm -rf "$ctx"
	rm -rf "$outdir"
	if ((rc == 0)); then log "PASS in $(($(date +%s) - t0))s"; else log "FAILED (exit $rc)"; fi
	exit "$rc"
}
trap cleanup EXIT

# --- 1. base images -----------------------------------------------------
log "base images: stand-ins for the registry images"
STANDINS_BUILT=$outdir/standins-built DOCKER=docker "$repo/compose/test/standins.sh" >"$outdir/standins.env" ||
	fail "stand-ins"

# --- 2. build context, secrets, module proxy ----------------------------
log "build context: work tree copy -> $ctx"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard --deduplicate |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$ctx" -xf -
"$ctx/compose/init-env.sh" >"$outdir/init-env.log" || { cat "$outdir/init-env.log" >&2; fail "init-env.sh"; }
[[ $(stat -c %a "$ctx/compose/secrets") == 700 ]] || fail "compose/secrets is not private to its owner"
token=$(cat "$ctx/compose/secrets/trainer_token")
((${#token} >= 32)) || fail "init-env.sh made no trainer token"

# The host's module cache as a module proxy on the Docker bridge, where the
# build containers reach it. go list fetches what the build needs into it.
(cd "$repo" && go list -deps ./services/trainer ./services/predictor >/dev/null) || fail "go list"
bridge_ip=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
[[ -n $bridge_ip ]] || bridge_ip=$(ip -4 -o addr show docker0 | awk '!a {a = $4; sub(/\/.*/, "", a)} END {print a}')
[[ -n $bridge_ip ]] || fail "no address of the Docker bridge"
GOWORK=off go build -o "$outdir/modproxy" "$repo/compose/test/modproxy.go" || fail "build modproxy"
: >"$outdir/modproxy.out"
"$outdir/modproxy" -listen "$bridge_ip:0" -dir "$(go env GOMODCACHE)/cache/download" >"$outdir/modproxy.out" &
modproxy_pid=$!
for _ in $(seq 50); do
	goproxy=$(head -1 "$outdir/modproxy.out")
	[[ -n $goproxy ]] && break
	sleep 0.1
done
[[ -n $goproxy ]] || fail "modproxy did not start"
log "module proxy for the builds: $goproxy"

# Free loopback ports: eight in a row from a random base.
pick_ports() {
	local base i used
	used=$(ss -Htln | awk '{print $4}' | sed 's/.*://' | sort -u)
	for _ in $(seq 50); do
		base=$((20000 + RANDOM % 20000))
		for i in 0 1 2 3 4 5 6 7; do
			grep -qx "$((base + i))" <<<"$used" && continue 2
		done
		echo "$base"
		return
	done
	return 1
}
port=$(pick_ports) || fail "no free ports"
s3_port=$port trainer_port=$((port + 1)) prom_port=$((port + 2)) grafana_port=$((port + 3))
cat >"$outdir/test.env" <<EOF
HOST_BIND=127.0.0.1
S3_HOST_PORT=$s3_port
TRAINER_HOST_PORT=$trainer_port
PROMETHEUS_HOST_PORT=$prom_port
GRAFANA_HOST_PORT=$grafana_port
PREDICTOR_HOST_PORTS=$((port + 4))-$((port + 5))
PREDICTOR_GRPC_HOST_PORTS=$((port + 6))-$((port + 7))
PREDICTOR_REPLICAS=2
IMAGE_REPOSITORY=$project
IMAGE_TAG=test
GIT_REVISION=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
cat "$outdir/standins.env" >>"$outdir/test.env"
# init-env.sh wrote compose/.env from .env.example: the test's values replace
# its lines.
grep -v -E "^($(cut -d= -f1 "$outdir/test.env" | grep -v '^#' | paste -sd'|'))=" "$ctx/compose/.env" >"$outdir/env.base" || true
cat "$outdir/env.base" "$outdir/test.env" >"$ctx/compose/.env"
compose config -q || fail "compose config"

# --- 3. images ----------------------------------------------------------
# Decimal MB, as `docker images` shows them.
declare -A size_limit_mb=([predictor]=${PREDICTOR_IMAGE_LIMIT_MB:-25} [trainer]=${TRAINER_IMAGE_LIMIT_MB:-30})
late_failures=()
tb=$(date +%s)
log "compose build (${compose_cmd[*]})"
compose build trainer predictor >"$outdir/build.log" 2>&1 || {
	tail -40 "$outdir/build.log" >&2
	fail "compose build"
}
log "built in $(($(date +%s) - tb))s"
for svc in trainer predictor; do
	img=$project/$svc:test
	size=$(docker image inspect -f '{{.Size}}' "$img")
	log "$img: $((size / 1000)) kB"
	# Checked at the end, so that the scenario runs all the same.
	((size <= size_limit_mb[$svc] * 1000 * 1000)) || late_failures+=("$img is $((size / 1000)) kB, over the ${size_limit_mb[$svc]} MB goal")
	[[ $(docker image inspect -f '{{.Config.User}}' "$img") == 65532:65532 ]] || fail "$img does not run as 65532"
	docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$img" | grep -q "\"/usr/local/bin/$svc\",\"healthcheck\"" ||
		fail "$img: HEALTHCHECK is not '$svc healthcheck'"
	[[ $(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.title"}}' "$img") == "modelferry-$svc" ]] ||
		fail "$img: OCI title label missing"
	[[ $(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.licenses"}}' "$img") == Apache-2.0 ]] ||
		fail "$img: OCI licenses label is not Apache-2.0"
	if docker run --rm --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1; then
		fail "$img has a shell"
	fi
done

# --- 4. scenario --------------------------------------------------------
services=(s3 trainer predictor prometheus)
# awk reads to the end: compose would die of SIGPIPE (and pipefail fail the
# test) if it stopped early.
grafana_image=$(compose config | awk '$1 == "image:" && $2 ~ /grafana/ && !g {g = $2} END {print g}')
if docker image inspect "$grafana_image" >/dev/null 2>&1; then
	services+=(grafana)
else
	log "$grafana_image is not present: Grafana is left out of this run"
fi
# A run killed before its cleanup (CI's time limit) may have left the
# project's containers and volumes: start from nothing.
compose down -v --remove-orphans >"$outdir/predown.log" 2>&1 || true
log "up: ${services[*]}"
stack_up=1
compose up -d --no-build "${services[@]}" >"$outdir/up.log" 2>&1 || {
	cat "$outdir/up.log" >&2
	fail "compose up"
}

containers() { # [service] -> ids of the project's containers, stopped ones too
	local f=(--filter "label=com.docker.compose.project=$project")
	[[ -n ${1:-} ]] && f+=(--filter "label=com.docker.compose.service=$1")
	docker ps -aq "${f[@]}"
}
want=$((${#services[@]} + 1)) # two predictors
log "waiting for $want healthy containers"
for i in $(seq 90); do
	mapfile -t ids < <(containers)
	((${#ids[@]})) || fail "no containers"
	states=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "${ids[@]}")
	healthy=$(grep -c ' running healthy$' <<<"$states" || true)
	((healthy == want)) && break
	grep -q 'unhealthy\|exited\|dead' <<<"$states" && { echo "$states" >&2; fail "a container failed"; }
	((i == 90)) && { echo "$states" >&2; fail "not all healthy after 180s"; }
	sleep 2
done
log "all healthy: $(tr '\n' ';' <<<"$states")"

log "every container has CPU and memory limits and no secret in its configuration"
for id in "${ids[@]}"; do
	read -r name cpus mem < <(docker inspect -f '{{.Name}} {{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "$id")
	((cpus > 0 && mem > 0)) || fail "$name has no limits (NanoCpus $cpus, Memory $mem)"
done
docker inspect "${ids[@]}" >"$outdir/inspect.json"
for f in "$ctx"/compose/secrets/*; do
	grep -qF "$(cat "$f")" "$outdir/inspect.json" && fail "the secret $(basename "$f") is in a container's configuration"
done

# HTTP helpers: bounded, loopback only.
http() { # method url [curl args...] -> body on stdout, status in $outdir/status
	local method=$1 url=$2
	shift 2
	: >"$outdir/body" # curl leaves the file alone when it gets no answer
	curl -sS --max-time 120 -o "$outdir/body" -w '%{http_code}' -X "$method" "$@" "$url" >"$outdir/status" || echo 000 >"$outdir/status"
	cat "$outdir/body"
}
status() { cat "$outdir/status"; }
trainer=http://127.0.0.1:$trainer_port
prom=http://127.0.0.1:$prom_port

mapfile -t predictors < <(containers predictor)
((${#predictors[@]} == 2)) || fail "want 2 predictor replicas, have ${#predictors[@]}"
declare -A pred_url
for c in "${predictors[@]}"; do
	hp=$(docker port "$c" 8000/tcp | sed -n 1p)
	pred_url[$c]=http://127.0.0.1:${hp##*:}
	# The Open Inference Protocol over gRPC is published too and accepts
	# connections.
	gp=$(docker port "$c" 8001/tcp | sed -n 1p)
	[[ -n $gp ]] || fail "predictor $c publishes no gRPC port"
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${gp##*:}" || fail "predictor $c: nothing answers on its gRPC port ${gp##*:}"
done
log "predictors: ${pred_url[*]}"
for c in "${predictors[@]}"; do
	http GET "${pred_url[$c]}/readyz" >/dev/null
	[[ $(status) == 503 ]] || fail "predictor $c is ready before any model exists ($(status))"
done

train() {
	local body
	body=$(http POST "$trainer/train?model=iris&wait=true" -H "Authorization: Bearer $token")
	[[ $(status) == 200 ]] || fail "POST /train answered $(status): $body"
	jq -e '.status == "succeeded" and .promoted == true' <<<"$body" >/dev/null || fail "run not succeeded and promoted: $body"
	jq -r .version <<<"$body"
}
setosa='{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'
predict() { # container -> label
	http POST "${pred_url[$1]}/predict" -H 'Content-Type: application/json' -d "$setosa" | jq -r .label
}
wait_version() { # version: every running predictor serves it
	local c v
	for c in "${predictors[@]}"; do
		for i in $(seq 30); do
			v=$(http GET "${pred_url[$c]}/model" | jq -r '.version // empty')
			[[ $v == "$1" ]] && break
			((i == 30)) && fail "predictor $c serves '${v}', want $1"
			sleep 1
		done
		[[ $(predict "$c") == setosa ]] || fail "predictor $c: /predict did not answer setosa"
	done
}

http POST "$trainer/train?model=iris&wait=true" >/dev/null
[[ $(status) == 401 ]] || fail "POST /train without the token answered $(status), want 401"
log "POST /train (1)"
v1=$(train)
wait_version "$v1"
log "both replicas serve $v1 and answer setosa"

# Prometheus must see the histograms before and after a second run.
sleep 6
log "POST /train (2): both replicas must hot-swap"
v2=$(train)
[[ $v2 != "$v1" ]] || fail "second run has the same version"
wait_version "$v2"
log "both replicas serve $v2"

log "traffic: bounded requests to every replica and the trainer"
for c in "${predictors[@]}"; do
	for i in $(seq 40); do
		[[ $(predict "$c") == setosa ]] || fail "prediction $i on $c"
	done
	http POST "${pred_url[$c]}/predict" -H 'Content-Type: application/json' \
		-d '{"instances":[[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5]]}' >/dev/null
	[[ $(status) == 200 ]] || fail "batch prediction on $c answered $(status)"
	http POST "${pred_url[$c]}/v2/models/iris/infer" -H 'Content-Type: application/json' \
		-d '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}]}' >/dev/null
	[[ $(status) == 200 ]] || fail "OIP infer on $c answered $(status)"
	http POST "${pred_url[$c]}/predict" -H 'Content-Type: application/json' -d '{"sepal_length":5.1}' >/dev/null
	[[ $(status) == 400 ]] || fail "bad input on $c answered $(status), want 400"
done
http GET "$trainer/runs?model=iris" >/dev/null
[[ $(status) == 200 ]] || fail "GET /runs answered $(status)"
http GET "$trainer/models/iris" >/dev/null
[[ $(status) == 200 ]] || fail "GET /models/iris answered $(status)"

log "Prometheus: both predictor replicas and the trainer are targets with up == 1"
for i in $(seq 30); do
	ups=$(http GET "$prom/api/v1/query" --data-urlencode 'query=up{job=~"predictor|trainer"} == 1' -G |
		jq -r '[.data.result[].metric | .job + " " + .instance] | sort | join(", ")')
	n=$(tr ',' '\n' <<<"$ups" | grep -c predictor || true)
	[[ $n == 2 && $ups == *trainer* ]] && break
	((i == 30)) && fail "Prometheus sees up == 1 for: $ups"
	sleep 2
done
log "targets up: $ups"
for c in "${predictors[@]}"; do
	ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c")
	grep -q "$ip:8000" <<<"$ups" || fail "replica $c ($ip) is not a Prometheus target"
done

log "every Grafana panel query and alert rule against the live Prometheus"
sleep 10 # a couple of scrapes after the traffic
(cd "$repo" && go run ./devstack/cmd/devstack querycheck -prometheus "$prom" \
	-rules 'prometheus/rules/*.yml' -window "$(($(date +%s) - t0 + 60))s" -retry 60s \
	grafana/dashboards/*.json) >"$outdir/querycheck.log" 2>&1 || {
	cat "$outdir/querycheck.log" >&2
	fail "querycheck"
}
cat "$outdir/querycheck.log" >&2

victim=${predictors[0]} survivor=${predictors[1]}
log "kill predictor $victim; $survivor must keep serving"
docker kill "$victim" >/dev/null
for i in $(seq 20); do
	[[ $(predict "$survivor") == setosa ]] || fail "survivor failed request $i after the kill"
done
[[ -z $(docker ps -q --filter "id=$victim") ]] || fail "killed predictor is still running"
log "survivor served 20 of 20 requests"
for i in $(seq 30); do
	n=$(http GET "$prom/api/v1/query" --data-urlencode 'query=count(up{job="predictor"} == 1)' -G | jq -r '.data.result[0].value[1] // "0"')
	[[ $n == 1 ]] && break
	((i == 30)) && fail "Prometheus still counts $n predictors up"
	sleep 2
done
log "Prometheus counts 1 predictor up"

http POST "$prom/-/quit" >/dev/null
[[ $(status) == 403 ]] || fail "Prometheus' POST /-/quit answered $(status), want 403 (lifecycle API off)"
http GET "$prom/-/ready" >/dev/null
[[ $(status) == 200 ]] || fail "Prometheus is not ready after POST /-/quit"
log "Prometheus' lifecycle API is off"

log "S3 down, $survivor restarted: it must serve $v2 from its cache volume"
mapfile -t s3c < <(containers s3)
docker stop "${s3c[@]}" >/dev/null
docker restart "$survivor" >/dev/null
hp=$(docker port "$survivor" 8000/tcp | sed -n 1p)
pred_url[$survivor]=http://127.0.0.1:${hp##*:}
for i in $(seq 30); do
	v=$(http GET "${pred_url[$survivor]}/model" | jq -r '.version // empty' 2>/dev/null || true)
	[[ $v == "$v2" ]] && break
	((i == 30)) && fail "restarted predictor serves '$v' with S3 down, want $v2 from its cache"
	sleep 1
done
[[ $(predict "$survivor") == setosa ]] || fail "restarted predictor: /predict did not answer setosa"
log "served $v2 from the cache while S3 was down"

((keep)) && exit 0
log "down -v"
compose down -v --remove-orphans >"$outdir/down.log" 2>&1 || {
	cat "$outdir/down.log" >&2
	fail "down"
}
stack_up=0
label=label=com.docker.compose.project=$project
left=$(docker ps -aq --filter "$label")$(docker network ls -q --filter "$label")$(docker volume ls -q --filter "$label")
[[ -z $left ]] || fail "left behind: $left"
log "nothing left behind (containers, networks, volumes of $project)"
remove_images
left=$(docker images --format '{{.Repository}}:{{.Tag}}' "$project/*")
left+=$(docker images -q --filter dangling=true --filter "$mine")
if [[ ${COMPOSE_TEST_KEEP_STANDINS:-} != 1 && -s $outdir/standins-built ]]; then
	while read -r img; do
		docker image inspect "$img" >/dev/null 2>&1 && left+=" $img"
	done <"$outdir/standins-built"
fi
[[ -z $left ]] || fail "images left behind: $left"
log "no image left behind"
for f in "${late_failures[@]}"; do log "FAIL: $f"; done
((${#late_failures[@]} == 0)) || exit 1
