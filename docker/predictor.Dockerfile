# The predictor image: a static Go binary on distroless (no shell, no package
# manager, user nonroot 65532). It keeps no state: models come from S3.
#
# Build from the repository root (BuildKit, the default builder since Docker 23;
# older engines need DOCKER_BUILDKIT=1):
#   docker build -f docker/predictor.Dockerfile -t modelferry/predictor .
# compose/compose.yaml builds it the same way.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Whole workspace in one step: go.work needs every module's go.mod, and the
# cache mounts keep downloaded modules and compiled packages between builds,
# so a separate `go mod download` layer would save nothing. A vendor/
# directory in the context (`go work vendor`) is used when present.
# -tags nomsgpack drops gin's MessagePack codec (the APIs speak JSON): ~6 MB.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags nomsgpack -ldflags="-s -w" -o /out/predictor ./services/predictor

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=
ARG CREATED=
LABEL org.opencontainers.image.title="modelferry-predictor" \
      org.opencontainers.image.description="Serves predictions of the model an S3 registry alias names, hot-swapping new versions" \
      org.opencontainers.image.source="https://github.com/modelferry/modelferry" \
      org.opencontainers.image.documentation="https://github.com/modelferry/modelferry#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /out/predictor /usr/local/bin/predictor
ENV PREDICTOR_ADDR=:8000
EXPOSE 8000
USER 65532:65532
# The binary checks itself: GET /healthz on PREDICTOR_ADDR over loopback.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/predictor", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/predictor"]
