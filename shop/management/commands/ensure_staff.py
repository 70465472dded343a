"""Create the staff login of the embedded run once and print how to log in.

The password comes from STAFF_PASSWORD or is generated once and kept in
var/staff-password.txt (never committed; created owner-only, 0600, from its
first byte). It is set only when the account is created, or on purpose with
STAFF_PASSWORD / ``--reset``: a password changed in the admin survives every
later ``make run``. It is printed once, when it is set in DEBUG.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (once) the staff account of the embedded run and print its login."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Set the password again (from STAFF_PASSWORD or the password file).",
        )

    def handle(self, *args, **options):
        username = settings.STAFF_USERNAME
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": "staff@ashtech.store", "is_staff": True, "is_superuser": True},
        )
        if not (created or options["reset"] or settings.STAFF_PASSWORD):
            self.stdout.write(
                f"\n  Staff login: {settings.SITE_URL}/admin/  user: {username}  (password "
                "unchanged)\n"
            )
            return
        password = settings.STAFF_PASSWORD or self._password_file()
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        shown = (
            password
            if settings.DEBUG and not settings.STAFF_PASSWORD
            else "(see STAFF_PASSWORD or var/staff-password.txt)"
        )
        self.stdout.write(
            f"\n  Staff login: {settings.SITE_URL}/admin/  user: {username}  password: {shown}\n"
        )

    def _password_file(self) -> str:
        """The kept password, or a new one written to a file only its owner reads."""
        secret_file = settings.VAR_DIR / "staff-password.txt"
        if secret_file.exists():
            password = secret_file.read_text().strip()
            if password:
                return password
        settings.VAR_DIR.mkdir(exist_ok=True)
        password = secrets.token_urlsafe(12)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
        os.chmod(secret_file, 0o600)  # an older file may have been created wider
        return password
