# Ripcord application image: web (uvicorn), Celery worker and beat all run from it (compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RIPCORD_VAR_DIR=/var/lib/ripcord

# pg_dump / pg_restore for the rollback steps that run on the worker.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home ripcord \
    && install -d -o ripcord -g ripcord "$RIPCORD_VAR_DIR"

WORKDIR /app
# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Code stays root-owned: the running user can read it, not rewrite it.
COPY . .
# No DATABASE_URL at build time: settings load in embedded mode, enough for collectstatic.
RUN python manage.py collectstatic --noinput

USER ripcord
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host=0.0.0.0", "--port=8000", "--proxy-headers"]
