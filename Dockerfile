# Build a static binary, then run it as a non-root user in a distroless image
# that carries only CA certificates and tzdata.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/jenkins-tokens-bot .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jenkins-tokens-bot /usr/local/bin/jenkins-tokens-bot
# Numeric, so that Kubernetes can verify runAsNonRoot.
USER 65532:65532
# HTTP_ADDR defaults to :8080 (health and readiness probes).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/jenkins-tokens-bot"]
