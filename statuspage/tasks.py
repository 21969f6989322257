"""Celery tasks of the status page: ids in, one call, bounded retries with backoff.

Routed to the control queue (config/settings.py), so no long step run delays them. An
SMTP server that is down or refuses is retried up to six times, backing off from 2 s to
5 min; the update email skips whoever already got it (``statuspage.mail``).
"""

from __future__ import annotations

import smtplib

from celery import shared_task

from statuspage import dispatch, mail

_TRANSIENT = (OSError, smtplib.SMTPException)


@shared_task(
    name=dispatch.EMAIL_UPDATE,
    autoretry_for=_TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
    ignore_result=True,
)
def email_update_task(update_id: int) -> None:
    mail.send_update(update_id)


@shared_task(
    name=dispatch.EMAIL_CONFIRMATION,
    autoretry_for=_TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
    ignore_result=True,
)
def email_confirmation_task(subscriber_id: int) -> None:
    mail.send_confirmation(subscriber_id)
