#!/usr/bin/env bash
# Builds local stand-ins for the public images that docker/Dockerfile and
# compose/compose.yaml use, for a Docker engine that reaches no registry.
# They get names of their own, never the upstream ones, so that a later
# `docker compose up` on a connected machine can't take one for the real
# image:
#
#   modelferry-standin/golang:<go version>         for GO_IMAGE: Debian (debootstrap) + this host's Go
#   modelferry-standin/distroless-static:nonroot   for RUNTIME_IMAGE: scratch + CA certs, tzdata, user nonroot (65532)
#   modelferry-standin/versitygw:<version>         for VERSITYGW_IMAGE: scratch + static versitygw + busybox (sh, wget)
#   modelferry-standin/prometheus:<version>        for PROMETHEUS_IMAGE: Debian + the prometheus on PATH
#                                                  (make's .tools/bin) + busybox wget
#   modelferry-standin/debian:bookworm             the base of two of them
#
# It prints the variables to give compose (GO_IMAGE=..., one a line) on
# stdout, and appends the name of every image it built to the file
# $STANDINS_BUILT when that is set (images that exist already are kept and
# not listed), so that the caller can remove what was made. grafana has no
# Debian package, so it gets no stand-in. Every stand-in carries the label
# org.modelferry.standin (and so do images built on them):
#   docker rmi $(docker images -q --filter label=org.modelferry.standin)
# removes them all.
#
# Building needs root (debootstrap, file ownership), debootstrap, apt-get
# (busybox-static is fetched with `apt-get download`), go and prometheus on
# PATH. Environment: DOCKER (a docker client; default docker), DEBIAN_MIRROR,
# STANDIN_REPO (the repository of the names, default modelferry-standin),
# STANDIN_RUN (a run id: every stand-in, and every image built on one, also
# carries org.modelferry.standin.run=<id>, so that a run removes only what
# it made).
set -euo pipefail

DOCKER=${DOCKER:-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=org.modelferry.standin
RUN_LABEL=${STANDIN_RUN:+ $LABEL.run=$STANDIN_RUN}
REPO=${STANDIN_REPO:-modelferry-standin}

repo=$(cd "$(dirname "$0")/../.." && pwd)
VERSITYGW_VERSION=$(grep -o 'versity/versitygw:v[0-9.]*' "$repo/compose/compose.yaml" | head -1 | cut -d: -f2)
[[ -n $VERSITYGW_VERSION ]] || { echo "[standins] no versity/versitygw:<version> in compose/compose.yaml" >&2; exit 1; }
command -v prometheus >/dev/null || { echo "[standins] prometheus is not on PATH (make compose-test installs it in .tools/bin)" >&2; exit 1; }
PROMETHEUS_BIN=$(command -v prometheus)
PROMTOOL_BIN=$(dirname "$PROMETHEUS_BIN")/promtool
# The module version it was built from (v0.316.0 is Prometheus 3.16.0).
PROMETHEUS_VERSION=$(go version -m "$PROMETHEUS_BIN" | awk '$1 == "mod" && $2 == "github.com/prometheus/prometheus" {print $3}')
[[ -n $PROMETHEUS_VERSION ]] || { echo "[standins] $PROMETHEUS_BIN: not built from github.com/prometheus/prometheus" >&2; exit 1; }
DEBIAN_IMAGE=$REPO/debian:bookworm
GOLANG_IMAGE=$REPO/golang:$(go env GOVERSION)
DISTROLESS_IMAGE=$REPO/distroless-static:nonroot
VERSITYGW_IMAGE=$REPO/versitygw:$VERSITYGW_VERSION
PROMETHEUS_IMAGE=$REPO/prometheus:$PROMETHEUS_VERSION

log() { printf '[standins] %s\n' "$*" >&2; }
have() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
built() { [[ -z ${STANDINS_BUILT:-} ]] || echo "$1" >>"$STANDINS_BUILT"; }

work=$(mktemp -d /var/tmp/modelferry-standins.XXXXXX)
trap 'rm -rf "$work"' EXIT

# busybox provides wget (and sh) for the healthchecks, as alpine and the
# prometheus image's busybox base do for the real images.
busybox() {
	if [[ ! -x $work/busybox ]]; then
		(cd "$work" && apt-get download -qq busybox-static >/dev/null 2>&1) ||
			{ log "apt-get download busybox-static failed (run apt-get update?)"; return 1; }
		dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
		cp "$work/bb/bin/busybox" "$work/busybox"
	fi
	printf '%s\n' "$work/busybox"
}

build_debian() {
	have "$DEBIAN_IMAGE" && return
	need_root "$DEBIAN_IMAGE"
	command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install debootstrap"; return 1; }
	log "debootstrap bookworm (minbase) -> $DEBIAN_IMAGE"
	local root=$work/debian
	debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; return 1; }
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar --numeric-owner -C "$root" -c . |
		"$DOCKER" import --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			--change 'CMD ["bash"]' --change "LABEL $LABEL=debian$RUN_LABEL" - "$DEBIAN_IMAGE" >/dev/null
	built "$DEBIAN_IMAGE"
	rm -rf "$root"
}

build_golang() {
	have "$GOLANG_IMAGE" && return
	build_debian
	log "$GOLANG_IMAGE from $DEBIAN_IMAGE + $(go env GOROOT)"
	local ctx=$work/golang
	mkdir -p "$ctx"
	# The real image has ca-certificates; this host's bundle stands in for it.
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
	cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
ENV GOLANG_VERSION=$(go env GOVERSION | sed 's/^go//') GOTOOLCHAIN=local GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/bin /go/src && chmod -R 1777 /go
WORKDIR /go
LABEL $LABEL=golang$RUN_LABEL
EOF
	local goroot
	goroot=$(go env GOROOT)
	tar -c -C "$ctx" Dockerfile ca-certificates.crt -C "$(dirname "$goroot")" --transform "s,^$(basename "$goroot"),go," "$(basename "$goroot")" |
		"$DOCKER" build -q -t "$GOLANG_IMAGE" - >/dev/null
	built "$GOLANG_IMAGE"
}

build_distroless() {
	have "$DISTROLESS_IMAGE" && return
	need_root "$DISTROLESS_IMAGE"
	log "$DISTROLESS_IMAGE from scratch (CA certs, tzdata, passwd with nonroot 65532)"
	local ctx=$work/distroless root=$work/distroless/root
	mkdir -p "$root"/{etc/ssl/certs,tmp,home/nonroot,root,usr/share}
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	[[ -d /usr/share/zoneinfo ]] && cp -a /usr/share/zoneinfo "$root/usr/share/"
	cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
	cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root" "$root/home/nonroot"
	chown 65532:65532 "$root/home/nonroot"
	tar --numeric-owner -C "$root" -cf "$ctx/rootfs.tar" .
	cat >"$ctx/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
LABEL $LABEL=distroless$RUN_LABEL
EOF
	"$DOCKER" build -q -t "$DISTROLESS_IMAGE" "$ctx" >/dev/null
	built "$DISTROLESS_IMAGE"
}

build_versitygw() {
	have "$VERSITYGW_IMAGE" && return
	log "$VERSITYGW_IMAGE: go install versitygw@$VERSITYGW_VERSION (static), into scratch"
	local ctx=$work/versitygw root=$work/versitygw/root
	mkdir -p "$root"/{usr/local/bin,bin,tmp,data}
	chmod 1777 "$root/tmp"
	# GOFLAGS may carry settings of this host that do not apply to a
	# module outside the workspace; GOWORK=off for the same reason.
	CGO_ENABLED=0 GOWORK=off GOFLAGS=-trimpath GOBIN="$root/usr/local/bin" \
		go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
	cp "$(busybox)" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	ln -s busybox "$root/bin/wget"
	tar --numeric-owner -C "$root" -cf "$ctx/rootfs.tar" .
	cat >"$ctx/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/bin
EXPOSE 7070
ENTRYPOINT ["/usr/local/bin/versitygw"]
LABEL $LABEL=versitygw$RUN_LABEL
EOF
	"$DOCKER" build -q -t "$VERSITYGW_IMAGE" "$ctx" >/dev/null
	built "$VERSITYGW_IMAGE"
}

build_prometheus() {
	have "$PROMETHEUS_IMAGE" && return
	build_debian
	log "$PROMETHEUS_IMAGE from $DEBIAN_IMAGE + $PROMETHEUS_BIN"
	local ctx=$work/prometheus
	mkdir -p "$ctx"
	cp "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$(busybox)" "$ctx/"
	# The same layout, user and defaults as the upstream image.
	cat >"$ctx/prometheus.yml" <<'EOF'
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [localhost:9090]
EOF
	cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY prometheus promtool /bin/
COPY busybox /usr/local/bin/busybox
COPY prometheus.yml /etc/prometheus/prometheus.yml
RUN ln -s busybox /usr/local/bin/wget && mkdir -p /prometheus && chown -R 65534:65534 /prometheus /etc/prometheus
USER 65534
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
LABEL $LABEL=prometheus$RUN_LABEL
EOF
	"$DOCKER" build -q -t "$PROMETHEUS_IMAGE" "$ctx" >/dev/null
	built "$PROMETHEUS_IMAGE"
}

need_root() {
	[[ $(id -u) == 0 ]] || { log "building $1 needs root (debootstrap, file ownership)"; return 1; }
}

main() {
	build_golang
	build_distroless
	build_versitygw
	build_prometheus
	local img
	for img in "$GOLANG_IMAGE" "$DISTROLESS_IMAGE" "$VERSITYGW_IMAGE" "$PROMETHEUS_IMAGE"; do
		log "ready: $img ($("$DOCKER" image inspect -f '{{.Size}}' "$img" | numfmt --to=iec))"
	done
	printf '%s\n' "GO_IMAGE=$GOLANG_IMAGE" "RUNTIME_IMAGE=$DISTROLESS_IMAGE" \
		"VERSITYGW_IMAGE=$VERSITYGW_IMAGE" "PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
}

main "$@"
