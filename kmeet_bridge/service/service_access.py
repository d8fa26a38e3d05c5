"""What the shipped systemd unit's user can read, for `check`.

The unit (systemd/kmeet-bridge.service) runs the bridge as a dynamic user:
neither root nor in root's group, so it reads a file only through the "others"
permission bits, and only when every directory above lets others through. It
does not need to read the secrets: the unit copies them in as credentials
(`LoadCredential=`) from fixed paths, as root, before the bridge starts.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

from kmeet_bridge.config import SECRET_CREDENTIAL, Settings

UNIT_CONFIG = Path("/etc/kmeet-bridge/config.toml")
# The unit's LoadCredential= sources, per section; a test keeps them in step with it.
UNIT_CREDENTIALS = {
    section: Path("/etc/kmeet-bridge") / name for section, name in SECRET_CREDENTIAL.items()
}


def readable_by_others(path: Path) -> bool:
    """True when a user who is neither the owner nor in the group can read `path`."""
    try:
        if not path.stat().st_mode & stat.S_IROTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.absolute().parents)
    except OSError:
        return False


def service_problems(
    settings: Settings, credentials: Mapping[str, Path] = UNIT_CREDENTIALS
) -> list[str]:
    """Sentences naming what the service's user could not read, or what the unit
    would fail to hand over; empty when the service can start."""
    problems = []
    source = settings.source
    if source is not None and not readable_by_others(source):
        problems.append(
            f"the service's dynamic user cannot read {source} ({_mode(source)}): make it "
            f"readable (chmod 644 {source}) and keep its secrets in the credential files"
        )
    needed = {"imap", "kmeet"} | ({"smtp"} if settings.smtp.username else set())
    for section in sorted(needed):
        path = credentials[section]
        if not path.exists():
            problems.append(
                f"the unit hands {path} to the service as the credential "
                f"{SECRET_CREDENTIAL[section]}, and it does not exist: the service cannot start"
            )
    handed_over = set(credentials.values())
    for path in settings.secret_files:
        if path != source and path not in handed_over and not readable_by_others(path):
            problems.append(
                f"the service's dynamic user cannot read {path} ({_mode(path)}), and the unit "
                "does not hand it over: put that secret in "
                + ", ".join(str(p) for p in credentials.values())
            )
    return problems


def _mode(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        return exc.strerror or "unreadable"
    return f"mode {info.st_mode & 0o777:04o}, owner uid {info.st_uid}"
