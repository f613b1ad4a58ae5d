# signingd: one static binary. Two images:
#   docker build -t signingd .                               distroless, converts Word/ODF via a Gotenberg URL
#   docker build -t signingd:libreoffice --target libreoffice .   with LibreOffice for local conversion
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /signingd ./cmd/signingd

# The variant with LibreOffice (about 400 MB) for deployments without a Gotenberg service.
FROM debian:bookworm-slim AS libreoffice
RUN apt-get update && apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-dejavu-core ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 65532 --home /nonexistent signingd
COPY --from=build /signingd /usr/local/bin/signingd
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["signingd", "healthcheck"]
ENTRYPOINT ["signingd"]
CMD ["serve"]

# The default image: small, no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /signingd /signingd
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/signingd", "healthcheck"]
ENTRYPOINT ["/signingd"]
CMD ["serve"]
