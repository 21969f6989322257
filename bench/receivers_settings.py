"""bench/receivers.py's server settings: production settings plus one bare view (bench/receivers_urls.py)."""

from __future__ import annotations

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.receivers_urls"
