# Ripcord application image: web (uvicorn), Celery worker and beat all run from it (compose.yaml).
#
# Build arguments, all optional (the defaults are the stock Python image and PyPI):
#   BASE_IMAGE        a Debian-based image whose `python3` is 3.11 with the venv module
#   PIP_INDEX_URL, PIP_NO_INDEX, PIP_FIND_LINKS, PIP_TRUSTED_HOST
#                     pip's own settings, for a mirror or for wheels built elsewhere; used
#                     by the dependency step only, not kept in the image's environment.
#                     (tests/deploy builds on a local Debian base with wheels it serves.)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    RIPCORD_VAR_DIR=/var/lib/ripcord \
    RIPCORD_RUN_DIR=/var/lib/ripcord/runs \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT=8000

# pg_dump / pg_restore for the rollback steps that run on the worker (a base that already
# has them is left as it is).
RUN if ! command -v pg_restore >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends postgresql-client \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# Everything written at run time lives under RIPCORD_VAR_DIR and belongs to the user the
# containers run as. compose.yaml mounts a named volume there for the worker; a new
# volume copies this ownership. Nothing else is writable by that user.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home ripcord \
    && install -d -m 0750 -o ripcord -g ripcord "$RIPCORD_VAR_DIR" \
    && install -d -m 0700 -o ripcord -g ripcord "$RIPCORD_RUN_DIR"

# A virtualenv, so that any base's own Python packages stay out of the way.
RUN python3 -m venv "$VIRTUAL_ENV"

WORKDIR /app
# Dependencies first: this layer is rebuilt only when the pins (or pip's settings) change.
ARG PIP_INDEX_URL
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ARG PIP_TRUSTED_HOST
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Code stays root-owned: the running user can read it, not rewrite it.
COPY . .
# No DATABASE_URL at build time: settings load in embedded mode, enough for collectstatic,
# and importing them creates no directory (so nothing here is left owned by root).
RUN python manage.py collectstatic --noinput

USER ripcord
EXPOSE 8000
# The web server; uvicorn reads UVICORN_HOST and UVICORN_PORT (compose.yaml's web service).
# Websocket pushes uncompressed unless the environment says otherwise (.env.example).
ENV UVICORN_WS_PER_MESSAGE_DEFLATE=false
CMD ["uvicorn", "config.asgi:application", "--proxy-headers", "--no-server-header"]
