# syntax=docker/dockerfile:1
# The suite image: begasist-suite (admin, REST API, webhook ingress, web chat) with
# begasist-core and the first-party channel plugins (the suite verifies webhooks
# and validates channel settings with them), installed from wheels. Build from
# the repository root:
#   docker build -f images/suite.Dockerfile -t begasist/suite:0.1.0 .
# It runs `begasist serve`: set BEGASIST_SECRET_KEY and BEGASIST_REDIS_URL (docs/suite.md).

# Stage 1: every wheel the suite needs, ours and our dependencies'.
FROM python:3.11-slim AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY packages/begasist-core packages/begasist-core
COPY packages/begasist-channels-whatsapp packages/begasist-channels-whatsapp
COPY packages/begasist-channels-email packages/begasist-channels-email
COPY packages/begasist-channels-webchat packages/begasist-channels-webchat
COPY packages/begasist-channels-channex packages/begasist-channels-channex
COPY packages/begasist-suite packages/begasist-suite
RUN python -m pip wheel --wheel-dir /wheels \
      ./packages/begasist-core \
      ./packages/begasist-channels-whatsapp \
      ./packages/begasist-channels-email \
      ./packages/begasist-channels-webchat \
      ./packages/begasist-channels-channex \
      ./packages/begasist-suite

# Stage 2: the runtime, from the wheels only: no index, no compiler.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="begasist-suite" \
      org.opencontainers.image.description="Begasist suite: staff inbox, admin, REST API, webhook ingress and web chat" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.vendor="Begasist"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# DL3013 (pin pip versions): --no-index installs only the wheels the stage above
# built from this checkout, so each name has exactly one version to take.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links /wheels \
      begasist-suite begasist-core begasist-channels-whatsapp begasist-channels-email \
      begasist-channels-webchat begasist-channels-channex \
    && python -m pip check
RUN groupadd --system --gid 10001 begasist \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/begasist begasist \
    && install --directory --owner 10001 --group 10001 /data /media
USER 10001:10001
# The embedded SQLite store is a file under the working directory: mount a
# volume here (or configure Astra DB) so it outlives the container.
WORKDIR /data
VOLUME ["/data", "/media"]
# `serve` reads its address from these: every interface of the container, port 8000.
ENV BEGASIST_HOST=0.0.0.0 BEGASIST_PORT=8000 BEGASIST_SQLITE_PATH=/data/begasist.sqlite3
EXPOSE 8000
# python, not curl: the slim image has no curl, and this adds nothing to it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["begasist"]
CMD ["serve"]
