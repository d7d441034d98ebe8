# syntax=docker/dockerfile:1

# Build a static binary: no cgo, no paths of the build machine, no symbols.
FROM golang:1.26 AS build
WORKDIR /src

# Modules first, so that editing source does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# VERSION lands in main.version (linker -X ignores it if the variable is absent).
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/portalgate ./cmd/portalgate

# No shell, no package manager: only the binary, CA certificates and tzdata.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portalgate /portalgate
# Numeric, so that Kubernetes can verify runAsNonRoot; the home directory is
# where the embedded store lives when no Redis is configured.
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080
# Mount the configuration (and any secrets it names) at /etc/portalgate.
ENTRYPOINT ["/portalgate"]
CMD ["serve", "--config", "/etc/portalgate/config.yaml"]
