# A static signingd binary on a small base image, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /signingd ./cmd/signingd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /signingd /signingd
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/signingd", "healthcheck"]
ENTRYPOINT ["/signingd"]
CMD ["serve"]
