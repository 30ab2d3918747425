# syntax=docker/dockerfile:1
# The channelbot image: begasist-core and the first-party channel plugins, installed
# from wheels. Build from the repository root:
#   docker build -f images/channelbot.Dockerfile -t begasist/channelbot:0.1.0 .
# Run one container per hotel: docker run begasist/channelbot:0.1.0 --hotel plaza

# Stage 1: every wheel the bot needs, ours and our dependencies'.
FROM python:3.11-slim AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY packages/begasist-core packages/begasist-core
COPY packages/begasist-channels-whatsapp packages/begasist-channels-whatsapp
COPY packages/begasist-channels-email packages/begasist-channels-email
COPY packages/begasist-channels-webchat packages/begasist-channels-webchat
COPY packages/begasist-channels-channex packages/begasist-channels-channex
RUN python -m pip wheel --wheel-dir /wheels \
      ./packages/begasist-core \
      ./packages/begasist-channels-whatsapp \
      ./packages/begasist-channels-email \
      ./packages/begasist-channels-webchat \
      ./packages/begasist-channels-channex

# Stage 2: the runtime. Installs from the wheels only (--no-index): nothing is
# fetched or compiled here, so the image carries no compiler and no build tools.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="begasist-channelbot" \
      org.opencontainers.image.description="Begasist channelbot: runs the channels of one or more hotels against Redis Streams" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.vendor="Begasist"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# DL3013 (pin pip versions): --no-index installs only the wheels the stage above
# built from this checkout, so each name has exactly one version to take.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links /wheels \
      begasist-core begasist-channels-whatsapp begasist-channels-email \
      begasist-channels-webchat begasist-channels-channex \
    && python -m pip check
# A numeric, non-root user, so that orchestrators can verify runAsNonRoot.
RUN groupadd --system --gid 10001 begasist \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/begasist begasist \
    && install --directory --owner 10001 --group 10001 /media
USER 10001:10001
WORKDIR /home/begasist
# No HEALTHCHECK: a bot serves no port. Its liveness is its presence key in Redis
# (shown in the admin) and its lease; a crashed bot exits and the restart policy
# brings it back, while a standby takes the hotel over within the lease TTL.
# channelbot drains on SIGTERM (BEGASIST_DRAIN_SECONDS, default 10 s): give the
# container a longer stop timeout than that (compose: stop_grace_period).
ENTRYPOINT ["channelbot"]
CMD ["--help"]
