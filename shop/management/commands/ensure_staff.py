"""Create the staff login of the embedded run once and print how to log in.

The password comes from STAFF_PASSWORD or is generated and kept in
var/staff-password.txt (never committed), so a second run prints the same.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (once) the staff account of the embedded run and print its login."

    def handle(self, *args, **options):
        username = settings.STAFF_USERNAME
        secret_file = settings.VAR_DIR / "staff-password.txt"
        password = settings.STAFF_PASSWORD
        if not password and secret_file.exists():
            password = secret_file.read_text().strip()
        if not password:
            password = secrets.token_urlsafe(12)
        settings.VAR_DIR.mkdir(exist_ok=True)
        secret_file.write_text(password)
        secret_file.chmod(0o600)
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username, defaults={"email": "staff@ashtech.store"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"\n  Staff login: {settings.SITE_URL}/admin/  user: {username}  password: {password}\n")
