# syntax=docker/dockerfile:1
#
# refundguard as a container: `docker build -t refundguard .` then
#   docker run -p 8080:8080 -v refundguard-data:/data refundguard
# and create the first key inside it:
#   docker exec CONTAINER refundguard keys create --data-dir /data --role admin --subject ops
#
# Two stages: a Go toolchain with gcc builds the binary with cgo on (the embedded SQLite
# driver is mattn/go-sqlite3), and a slim Debian runs it as an unprivileged user, with the
# database and evidence photos in a volume.

FROM golang:1.26-bookworm AS build
# libjpeg-turbo headers: with cgo the forensics package decodes JPEGs through it
# (forensics/jpeg_turbo.go links -ljpeg); the golang image has gcc but not these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjpeg62-turbo-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=1
RUN go build -trimpath -ldflags="-s -w" -o /out/refundguard ./cmd/refundguard

FROM debian:bookworm-slim
# libjpeg62-turbo is the shared library the binary links for JPEG decoding; ca-certificates
# for PostgreSQL over TLS, tzdata for times given with zone names, curl for the health
# check. The user owns /data so a fresh named volume, which copies the image's /data, is
# writable.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjpeg62-turbo ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 refundguard \
 && useradd --system --uid 10001 --gid refundguard --home-dir /data --no-create-home --shell /usr/sbin/nologin refundguard \
 && mkdir -p /data \
 && chown refundguard:refundguard /data
COPY --from=build /out/refundguard /usr/local/bin/refundguard
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers while the process serves; /readyz (database and evidence store) is for
# load balancers, which should stop sending traffic without restarting the container.
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["refundguard"]
CMD ["serve", "--addr", ":8080", "--data-dir", "/data"]
