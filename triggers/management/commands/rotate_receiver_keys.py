"""``manage.py rotate_receiver_keys``: re-encrypt every signing secret under RIPCORD_RECEIVER_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from triggers import services


class Command(BaseCommand):
    help = (
        "Re-encrypt PagerDuty signing secrets under RIPCORD_RECEIVER_KEY (old keys in "
        "RIPCORD_RECEIVER_OLD_KEYS must still open them); afterwards the old keys can go."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated, unreadable = services.rotate_secrets()
        self.stdout.write(f"re-encrypted {rotated} signing secret(s)")
        if unreadable:
            raise CommandError(
                f"no configured key opens the secret of receiver(s) {unreadable}: "
                "add the key they were made with to RIPCORD_RECEIVER_OLD_KEYS, or recreate them"
            )
