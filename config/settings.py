"""Ripcord settings: one env-driven module (see .env.example for every variable).

Two run modes, chosen by the environment alone:

* embedded (no DATABASE_URL / REDIS_URL): SQLite under ``var/``, an in-process
  channel layer and an in-memory Celery broker served by a worker thread inside
  the web process. One command, no external service.
* production: PostgreSQL from DATABASE_URL, Redis from REDIS_URL for the
  channel layer (the pub/sub flavour) and the Celery broker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import secret_key as embedded_secret_key
from config.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RIPCORD_VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not DATABASE_URL

DEBUG = env_bool("DEBUG", default=False)
_DEV_SECRET = "embedded-mode-only-not-a-secret"  # refused outside embedded mode, see below
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if EMBEDDED else "")
# --- ux12c: embedded sessions survive restarts. bin/demo keeps a generated key under
# VAR_DIR (config/secret_key.py); the placeholder above is left only before its first run.
if EMBEDDED and SECRET_KEY == _DEV_SECRET:
    SECRET_KEY = embedded_secret_key.read(VAR_DIR) or _DEV_SECRET
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set")
if SECRET_KEY == _DEV_SECRET and not EMBEDDED:
    raise ImproperlyConfigured("SECRET_KEY must not be the embedded default in production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "common",
    "runbooks",
    "incidents",
    "validation",
    "postmortem",
    "statuspage",
    "triggers",
    "demo",
    # --- ux12c: API docs offline. django-ninja serves the Swagger UI files bundled in
    # the package (its static/ folder) only when it is an installed app; otherwise
    # /api/v1/docs loads them from a CDN and stays blank without internet.
    "ninja",
]

MIDDLEWARE = [
    # First, so that every request is timed, whatever answers it (common/metrics.py).
    "common.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After CSRF: a forged post is refused as forged before its fields are looked at.
    "common.middleware.RefuseUnstorableText",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "triggers.context.proposals",
            ],
        },
    }
]

DATABASES: dict[str, dict[str, Any]]
if EMBEDDED:
    DATABASES = {
        "default": {
            # Django's SQLite backend, creating VAR_DIR at the first connection: importing
            # the settings creates nothing (the image imports them as root at build time).
            "ENGINE": "config.sqlite",
            "NAME": VAR_DIR / "ripcord.sqlite3",
            # Concurrent writers (web + in-process worker) wait instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
else:
    # Persistent connections for long-lived threads (the websocket consumers' database
    # thread, Celery workers): with none, 500 simultaneous websocket connects timed out
    # reconnecting. HTTP requests under ASGI run on short-lived threads, so config.asgi
    # closes their connections when each request ends instead of leaking one per request.
    # Health checks: a connection a PostgreSQL restart killed is replaced before it is used
    # again (where Django looks: each request, each consumer call); the worker's writes
    # during a run retry on their own (incidents.execution.durable). A bounded connect
    # keeps those retries from hanging on a database host that does not answer at all.
    DATABASES = {
        "default": {**dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    }
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
    # The ASGI server (compose.yaml's web) takes a pool instead (psycopg-pool): each HTTP
    # request's thread borrows a connection and gives it back when the request ends
    # (config.asgi), rather than opening a new one; health checks still replace a dead one.
    # Not for forking processes (Celery's prefork workers): off unless set.
    if env_bool("RIPCORD_DB_POOL", False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent ones
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 2,
            "max_size": env_int("RIPCORD_DB_POOL_SIZE", 20, minimum=2),
            "timeout": 10,
        }


DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Embedded mode serves straight from the finders, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG

# Django's database sessions and model backend, their per-request reads compiled once.
SESSION_ENGINE = "common.sessions"
AUTHENTICATION_BACKENDS = [
    "common.auth_backend.Backend",
    "django.contrib.auth.backends.ModelBackend",  # sessions made before it (common/auth_backend.py)
]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- live updates -----------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub layer: a cheaper group_send than the list-based one, and no
            # failures when hundreds of sockets reconnect at once (bench/live_fanout.py).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # A prefix keeps separate deployments (or test runs) on one Redis apart.
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("RIPCORD_CHANNEL_PREFIX", "ripcord"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Each process checks that its layer delivers (a message to itself) this often while any
# socket is open, and tells the pages at once when it stops and starts again; every beat it
# tells them anyway, so a page that hears nothing knows its socket is dead (common/layer_watch.py).
RIPCORD_LIVE_CHECK_MS = env_int("RIPCORD_LIVE_CHECK_MS", 500, minimum=50)
RIPCORD_LIVE_BEAT_SECONDS = env_int("RIPCORD_LIVE_BEAT_SECONDS", 10, minimum=1)
# In the ASGI server a committed change is rendered and fanned out on its event loop, off
# the request, and a burst of one incident's changes is rendered once (incidents/push_loop.py).
# Off (0): rendered on the request's thread on commit, as workers and commands always do.
RIPCORD_PUSH_DEFERRED = env_bool("RIPCORD_PUSH_DEFERRED", True)
# ... and one incident is pushed at most once per this many ms: changes that come sooner
# wait for the rest of it and go together (a burst costs each socket one message).
RIPCORD_PUSH_INTERVAL_MS = env_int("RIPCORD_PUSH_INTERVAL_MS", 100, minimum=0)
# A step worker's pool process renders and sends its pushes on a thread of its own
# (incidents/push_thread.py), so a claimed step's script starts ~45 ms sooner
# (bench/dispatch.py). Off (0): rendered on commit, before the script starts.
RIPCORD_WORKER_PUSH_THREAD = env_bool("RIPCORD_WORKER_PUSH_THREAD", True)

# --- Celery -----------------------------------------------------------------
# Empty counts as unset: compose passes every variable, set or not.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
# Named, not Celery's implicit "celery": workers subscribe with `-Q default,<extra queues>`
# (compose.yaml, the embedded worker), so the queue every unrouted task lands on needs a
# name they can list.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# One task per worker process: run more processes for more at once. A worker with a free
# slot waits on the broker (BRPOP) while its running task is unacknowledged, and with
# Celery 5.7 / kombu 5.7 a Redis restart then kills it (config/celery.py says how), so a
# worker started with more refuses to start.
CELERY_WORKER_CONCURRENCY = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3 * 3600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3 * 3600 + 300, minimum=2)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must exceed CELERY_TASK_SOFT_TIME_LIMIT")
# Defaults for every task; a step run gets its own limits from its step's timeout (up
# to 24 h, incidents.services.delivery.run_time_limits).
#
# Longer than the longest task but deliberately not the longest run: Redis redelivers a
# task unacknowledged this long, and a run may go on for a day. That redelivery is
# harmless: the claim is a compare-and-set (QUEUED -> RUNNING), so the second delivery
# finds the run RUNNING and returns at once, and nothing runs twice. A visibility
# timeout of a day would instead hold back, for a day, a task reserved by a worker
# that died before starting it.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 600,
}
# Keeps two installations (or test runs) sharing one Redis from taking each other's tasks.
if RIPCORD_BROKER_PREFIX := env_str("RIPCORD_BROKER_PREFIX"):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = RIPCORD_BROKER_PREFIX

# --- Ripcord ----------------------------------------------------------------
RIPCORD_RUNBOOK_DIRS = env_list("RIPCORD_RUNBOOK_DIRS", [str(BASE_DIR / "runbooks" / "library")])
# Housekeeping tasks (the sweeper, phase-clock pushes) have a queue of their own, served by
# the worker that embeds beat (compose.yaml's beat service): on a step queue they would wait
# behind a one-hour pg_restore, and an interruption is news exactly when a step hangs.
RIPCORD_CONTROL_QUEUE = "control"
# Queues this host's worker consumes besides "default"; read by compose.yaml's worker, the
# Makefile and the embedded worker. "database" when unset, the queue MIG-002's restore names,
# so one host runs everything out of the box; set it empty where a worker next to the
# database takes that queue instead (README, "Workers next to the database").
RIPCORD_WORKER_QUEUES = env_list("RIPCORD_WORKER_QUEUES", ["database"])
if RIPCORD_CONTROL_QUEUE in RIPCORD_WORKER_QUEUES:
    raise ImproperlyConfigured(
        f"RIPCORD_WORKER_QUEUES must not name {RIPCORD_CONTROL_QUEUE!r}: housekeeping has a "
        "worker of its own (compose.yaml's beat service) so that no step can delay it"
    )
RIPCORD_DEMO = env_bool("RIPCORD_DEMO", default=EMBEDDED)
RIPCORD_TIMELINE_PAGE_SIZE = env_int("RIPCORD_TIMELINE_PAGE_SIZE", 200, minimum=10)
# Scripted steps: a running step renews its lease every second; the sweeper
# declares it interrupted when the lease has not been renewed for this long.
RIPCORD_RUN_LEASE_SECONDS = env_int("RIPCORD_RUN_LEASE_SECONDS", 30, minimum=2)


def sweep_interval(lease_seconds: float) -> float:
    """How often the sweeper runs: a lost run is interrupted within lease + this."""
    return max(1.0, lease_seconds / 3)


RIPCORD_SWEEP_SECONDS = sweep_interval(RIPCORD_RUN_LEASE_SECONDS)
# The sweeper tells the incident (once) about a run queued for longer than this: its queue
# may have no worker at all.
RIPCORD_QUEUED_WARN_SECONDS = env_int("RIPCORD_QUEUED_WARN_SECONDS", 60, minimum=1)
# Created by the first step that needs it (incidents.execution.rundir), by the user the
# worker runs as; the worker checks at start-up that it may write there (config/celery.py).
RIPCORD_RUN_DIR = Path(env_str("RIPCORD_RUN_DIR", str(VAR_DIR / "runs")))
# Every periodic task is housekeeping. Each expires after one period: sent while no control
# worker was up, a pile of stale sweeps would otherwise all run when one comes back. (Beat
# runs inside the control worker, so the two read one clock.)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    name: {"task": task, "schedule": every, "options": {"expires": every}}
    for name, task, every in (
        ("sweep-stale-runs", "incidents.tasks.sweep_stale_runs_task", RIPCORD_SWEEP_SECONDS),
        # Phase clocks tick in the browser; only their state changes are announced.
        ("refresh-phase-clocks", "incidents.tasks.refresh_clocks_task", 15.0),
    )
}
CELERY_TASK_ROUTES = {
    entry["task"]: {"queue": RIPCORD_CONTROL_QUEUE} for entry in CELERY_BEAT_SCHEDULE.values()
}

# --- triggers: alert receivers and proposed rollbacks (README, "Alerts → proposals") ---
# A receiver's body is refused with 413 past this many bytes, before Django reads it
# (triggers.asgi, wrapped around /hooks/ in config/asgi.py).
RIPCORD_RECEIVER_MAX_BODY = env_int("RIPCORD_RECEIVER_MAX_BODY", 1024 * 1024, minimum=1024)
# Requests past their credentials, per receiver per minute; more get 429.
RIPCORD_RECEIVER_RATE_PER_MINUTE = env_int("RIPCORD_RECEIVER_RATE_PER_MINUTE", 600, minimum=1)
# The Fernet key PagerDuty signing secrets are encrypted with; old keys still decrypt.
# Unset: derived from SECRET_KEY, so a new SECRET_KEY would lose them; set it in production.
RIPCORD_RECEIVER_KEY = env_str("RIPCORD_RECEIVER_KEY")
RIPCORD_RECEIVER_OLD_KEYS = env_list("RIPCORD_RECEIVER_OLD_KEYS", [])


def _check_fernet_keys() -> None:
    import base64
    import binascii

    for name, keys in (
        ("RIPCORD_RECEIVER_KEY", [RIPCORD_RECEIVER_KEY] if RIPCORD_RECEIVER_KEY else []),
        ("RIPCORD_RECEIVER_OLD_KEYS", RIPCORD_RECEIVER_OLD_KEYS),
    ):
        for key in keys:
            try:
                ok = len(base64.urlsafe_b64decode(key.encode())) == 32
            except (binascii.Error, ValueError):
                ok = False
            if not ok:
                raise ImproperlyConfigured(
                    f"{name} must be Fernet keys (32 url-safe base64-encoded bytes): "
                    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
                )


_check_fernet_keys()

# --- triggers: rules Ripcord evaluates (README, "Rules Ripcord evaluates") ---
# Where Prometheus is for environments whose runbook sets no PROMETHEUS_URL variable
# (empty: only those that do are evaluated), how long a query may take, and how often
# every rule is evaluated (triggers.evaluation, on the control queue).
RIPCORD_PROMETHEUS_URL = env_str("PROMETHEUS_URL")
RIPCORD_PROMETHEUS_TIMEOUT = float(env_int("RIPCORD_PROMETHEUS_TIMEOUT", 10, minimum=1))
RIPCORD_TRIGGER_INTERVAL = float(env_int("RIPCORD_TRIGGER_INTERVAL", 60, minimum=5))
CELERY_BEAT_SCHEDULE["evaluate-triggers"] = {
    "task": "triggers.tasks.evaluate_triggers_task",
    "schedule": RIPCORD_TRIGGER_INTERVAL,
    "options": {"expires": RIPCORD_TRIGGER_INTERVAL},
}
CELERY_TASK_ROUTES["triggers.tasks.evaluate_triggers_task"] = {"queue": RIPCORD_CONTROL_QUEUE}

# --- monitoring (README, "Monitoring Ripcord") ------------------------------------
# Empty: /metrics is open (it holds counts, durations, states and queue names, no incident
# content). Set: the scraper must send it as "Authorization: Bearer <token>"; the workers'
# endpoints ask for it too.
RIPCORD_METRICS_TOKEN = env_str("RIPCORD_METRICS_TOKEN")
# A Celery worker serves its own processes' metrics (pushes, sweeper actions) on this port;
# 0 = none. Several worker processes of one service add up through PROMETHEUS_MULTIPROC_DIR.
RIPCORD_WORKER_METRICS_PORT = env_int("RIPCORD_WORKER_METRICS_PORT", 0, minimum=0)
RIPCORD_WORKER_METRICS_HOST = env_str("RIPCORD_WORKER_METRICS_HOST", "127.0.0.1")

# --- status page and its email (README, "Status page") -----------------------------
# Public pages are cached; publishing bumps a per-page version key. Redis when there is
# one (every web process sees the bump), this process's memory otherwise.
RIPCORD_CACHE_PREFIX = env_str("RIPCORD_CACHE_PREFIX") or env_str(
    "RIPCORD_CHANNEL_PREFIX", "ripcord"
)
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CACHES["default"]["KEY_PREFIX"] = RIPCORD_CACHE_PREFIX
# Where people reach Ripcord: the links in emails (confirm, unsubscribe, the page).
RIPCORD_PUBLIC_URL = env_str("RIPCORD_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# How often an open status page asks summary.json whether anything changed (a 304 if not).
RIPCORD_STATUS_POLL_MS = env_int("RIPCORD_STATUS_POLL_MS", 500, minimum=100)
# Embedded mode (the demo) prints emails instead of looking for an SMTP server.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ripcord@localhost")
CELERY_TASK_ROUTES["statuspage.tasks.*"] = {"queue": RIPCORD_CONTROL_QUEUE}

RIPCORD_LOG_LEVEL = env_choice("RIPCORD_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": RIPCORD_LOG_LEVEL},
}

# --- communications (comms; README, "Communications") ------------------------------
INSTALLED_APPS += ["comms"]
# Mail (EMAIL_*) and RIPCORD_PUBLIC_URL: the status page block above.
# A delivery is tried at most this many times, waiting base x 2^(attempt-1) seconds between.
RIPCORD_COMMS_ATTEMPTS = env_int("RIPCORD_COMMS_ATTEMPTS", 4, minimum=1)
RIPCORD_COMMS_RETRY_MS = env_int("RIPCORD_COMMS_RETRY_MS", 2000, minimum=1)
# How often the control worker looks for overdue audiences and automatic items to send.
RIPCORD_COMMS_CADENCE_SECONDS = 15.0
CELERY_BEAT_SCHEDULE["comms-cadence"] = {
    "task": "comms.tasks.cadence_task",
    "schedule": RIPCORD_COMMS_CADENCE_SECONDS,
    "options": {"expires": RIPCORD_COMMS_CADENCE_SECONDS},
}
CELERY_TASK_ROUTES["comms.tasks.cadence_task"] = {"queue": RIPCORD_CONTROL_QUEUE}
CELERY_TASK_ROUTES["comms.tasks.deliver_task"] = {"queue": RIPCORD_CONTROL_QUEUE}

# --- follow-up reminders (finish11; README, "Drills, safeguards, parameters and follow-ups")
# Overdue follow-ups remind their assignee by email (Django mail, EMAIL_* above), once per
# follow-up per day, from the control worker. Off: the Follow-ups page still reminds.
RIPCORD_FOLLOW_UP_EMAILS = env_bool("RIPCORD_FOLLOW_UP_EMAILS", default=True)
RIPCORD_FOLLOW_UP_REMIND_SECONDS = 3600.0
CELERY_BEAT_SCHEDULE["remind-follow-ups"] = {
    "task": "incidents.tasks.remind_follow_ups_task",
    "schedule": RIPCORD_FOLLOW_UP_REMIND_SECONDS,
    "options": {"expires": RIPCORD_FOLLOW_UP_REMIND_SECONDS},
}
CELERY_TASK_ROUTES["incidents.tasks.remind_follow_ups_task"] = {"queue": RIPCORD_CONTROL_QUEUE}
# Scheduled drills (finish11): the control worker opens each at its time.
RIPCORD_SCHEDULED_DRILL_SECONDS = 30.0
CELERY_BEAT_SCHEDULE["open-scheduled-drills"] = {
    "task": "incidents.tasks.open_due_drills_task",
    "schedule": RIPCORD_SCHEDULED_DRILL_SECONDS,
    "options": {"expires": RIPCORD_SCHEDULED_DRILL_SECONDS},
}
CELERY_TASK_ROUTES["incidents.tasks.open_due_drills_task"] = {"queue": RIPCORD_CONTROL_QUEUE}
# Success criteria's metric checks (criteria9): measured in the last phase, as often as
# trigger rules are evaluated (incidents.services.measuring).
CELERY_BEAT_SCHEDULE["measure-criteria"] = {
    "task": "incidents.tasks.measure_criteria_task",
    "schedule": RIPCORD_TRIGGER_INTERVAL,
    "options": {"expires": RIPCORD_TRIGGER_INTERVAL},
}
CELERY_TASK_ROUTES["incidents.tasks.measure_criteria_task"] = {"queue": RIPCORD_CONTROL_QUEUE}
