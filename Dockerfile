# syntax=docker/dockerfile:1
# The `quota` server image: `docker build -t quota .` then
#   docker run --rm -p 3333:3333 --env-file quota.env quota
# (settings and secrets as environment variables: docs/USAGE_QUOTA_GUARDIAN.md, "Settings").
# Not exercised by CI (no container registry there); see the guide's "Deploying (Docker,
# systemd)" for the manual checks.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p quota-server --bin quota \
    && install -D -m 0755 target/release/quota /out/quota

FROM debian:bookworm-slim
# TLS to Stripe, Slack, SMTP and rediss:// checks certificates against the system roots.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin quota
COPY --from=build /out/quota /usr/local/bin/quota
USER 10001:10001
# Listen on every interface of the container; the port is published with `-p`.
ENV QUOTA_HOST=0.0.0.0 \
    PORT=3333 \
    QUOTA_LOG_FORMAT=json
EXPOSE 3333
# SIGTERM drains (at most 30 s): give `docker stop` more than that (`-t 40`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/quota", "serve"]
