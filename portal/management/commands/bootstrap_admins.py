"""`manage.py bootstrap_admins`: the three administrator accounts of a fresh deployment (三员分立).

    PORTAL_SYSTEM_ADMIN_PASSWORD=… PORTAL_SECURITY_ADMIN_PASSWORD=… PORTAL_AUDIT_ADMIN_PASSWORD=… \\
        python manage.py bootstrap_admins --system sysadmin --security secadmin --audit auditadmin --noinput

Without the environment variables the passwords are asked for (twice, not echoed). Each password must pass the
password policy. A role somebody already holds is left as it is, so running it again changes nothing.
"""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from portal.choices import Role
from portal.errors import PortalError
from portal.models import User
from portal.services.org import admins_bootstrap

# (role, option, default username, password variable)
ADMINS = [
    (Role.SYSTEM_ADMIN, "system", "sysadmin", "PORTAL_SYSTEM_ADMIN_PASSWORD"),
    (Role.SECURITY_ADMIN, "security", "secadmin", "PORTAL_SECURITY_ADMIN_PASSWORD"),
    (Role.AUDIT_ADMIN, "audit", "auditadmin", "PORTAL_AUDIT_ADMIN_PASSWORD"),
]


class Command(BaseCommand):
    help = "Create the system, security and audit administrators (one role each), audited as the system."

    def add_arguments(self, parser):
        for role, option, default, variable in ADMINS:
            parser.add_argument(f"--{option}", default=default, metavar="USERNAME",
                                help=f"username of the {Role(role).name.lower()} (default {default}); "
                                     f"password from ${variable} or prompted")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="never prompt: every password must come from its environment variable")

    def handle(self, *args, interactive: bool = True, **options):
        accounts = []
        for role, option, _default, variable in ADMINS:
            username = options[option]
            if User.objects.filter(roles__role=role, is_active=True).exists():
                password = ""  # left as it is (admins_bootstrap says so): nothing to ask
            else:
                password = os.environ.get(variable) or self._ask(Role(role).label, username, variable, interactive)
            accounts.append((role, username, password, str(Role(role).label)))
        try:
            lines = admins_bootstrap(accounts=accounts)
        except PortalError as exc:
            raise CommandError(str(exc.detail)) from exc
        for line in lines:
            self.stdout.write(line)

    def _ask(self, label, username: str, variable: str, interactive: bool) -> str:
        if not interactive:
            raise CommandError(f"缺少环境变量 {variable}（{label} {username} 的初始密码）")
        for _attempt in range(3):
            first = getpass.getpass(f"{label} {username} 的初始密码：")
            if first and first == getpass.getpass("再次输入："):
                return first
            self.stderr.write("两次输入不一致或为空，请重新输入。")
        raise CommandError("未设置密码")
