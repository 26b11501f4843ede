"""What the browser tests need on the machine: Debian's chromium and a CJK font."""

# ruff: noqa: S603 - a launcher runs fixed argv lists of known programs (manage.py, pg_ctl, apt-get)

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .core import DevstackError, header, say

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_PACKAGES = ("chromium", "fonts-wqy-microhei")


def deb_installed(package: str) -> bool:
    query = ["dpkg-query", "-W", "-f=${Status}", package]
    status = subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    return status == "install ok installed"


def ensure_browser_packages() -> None:
    """Debian's chromium + a CJK font for the Playwright tests (Playwright's browser download is blocked)."""
    if shutil.which("dpkg-query"):
        missing = [pkg for pkg in BROWSER_PACKAGES if not deb_installed(pkg)]
    else:
        missing = [] if CHROMIUM.exists() else list(BROWSER_PACKAGES)
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"    warning: {' '.join(missing)} not installed and we are not root; browser tests cannot run.")
        say(f"    install them with: sudo apt-get install -y {' '.join(BROWSER_PACKAGES)}")
        return
    header(f"installing Debian packages for the browser tests: {' '.join(missing)}")
    # NEEDRESTART_SUSPEND: needrestart must not bounce the machine's PostgreSQL/Redis under a test run.
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_SUSPEND": "1"}
    # No recommends: headless chromium needs none of them (avahi, upower, printing, a systemd upgrade).
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    for argv in (["apt-get", "update"], install):
        say("    $ " + " ".join(argv))
        result = subprocess.run(argv, env=apt_env, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise DevstackError(f"{' '.join(argv)} failed with exit code {result.returncode}")
