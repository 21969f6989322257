"""``manage.py createuser NAME --group GROUP``: add a person to Ripcord from a script.

The password is read from standard input (typed at a prompt when that is a terminal) or
from ``--password-file``, never from the command line, where it would land in the shell's
history and in the process list. How the first commander of a production install is
made (README, "Production").
"""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.capabilities import ALL_GROUPS


class Command(BaseCommand):
    help = (
        "Create a user in one of Ripcord's groups (commanders, responders, viewers), "
        "the password read from standard input or --password-file."
    )
    stealth_options = ("stdin",)  # call_command(..., stdin=io.StringIO(...)) in tests

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--group",
            required=True,
            choices=ALL_GROUPS,
            help="commanders open incidents and lead them; responders take roles on them; "
            "viewers read",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            help="read the password from this file (its first line) instead of standard input",
        )
        parser.add_argument("--email", default="", help="the user's e-mail address")
        parser.add_argument(
            "--update",
            action="store_true",
            help="the user exists: set this password and put them in this group instead "
            "of their current Ripcord group",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        group: str,
        password_file: Path | None,
        email: str,
        update: bool,
        **options: Any,
    ) -> None:
        username = username.strip()
        if not username:
            raise CommandError("the user name is empty")
        try:
            capability = Group.objects.get(name=group)
        except Group.DoesNotExist:
            raise CommandError(f"no group {group!r}: run `manage.py migrate` first") from None
        existing = User.objects.filter(username=username).first()
        if existing is not None and not update:
            raise CommandError(
                f"user {username!r} already exists; pass --update to set their password and group"
            )
        if existing is None and update:
            raise CommandError(f"no user {username!r} to update; leave out --update to create one")
        password = self._read_password(password_file, options.get("stdin") or sys.stdin)
        user = existing or User(username=username)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from None
        with transaction.atomic():
            if email:
                user.email = email
            user.set_password(password)
            user.save()
            # One Ripcord group each: an update replaces it and leaves any other group be.
            user.groups.remove(*Group.objects.filter(name__in=ALL_GROUPS).exclude(pk=capability.pk))
            user.groups.add(capability)
        done = "Updated" if existing else "Created"
        self.stdout.write(f"{done} user {username!r} in group {group}.")

    def _read_password(self, password_file: Path | None, stdin: TextIO) -> str:
        if password_file is not None:
            try:
                text = password_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(
                    f"cannot read the password file {password_file}: {exc}"
                ) from None
            password = text.splitlines()[0] if text else ""
        elif stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the two passwords differ")
        else:
            password = stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("the password is empty")
        return password
