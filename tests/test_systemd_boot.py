"""The service as users install it, under a real systemd.

A Debian root file system (tests/support/nspawn.py) is booted with
systemd-nspawn; inside it the README's own blocks under "Install",
"Configure", "Run as a service" and "Upgrade" are run as written, read from
README.md itself, so the documentation cannot drift from what is tested. The
bridge then talks to this session's Dovecot, SMTP server and API simulator on
the shared loopback.

The tests share one booted container and run in file order, as an operator
would go: install, configure, start, use, reload, stop, break, upgrade.
Skip them with KMEET_BRIDGE_SKIP_BOOT_TEST=1 or `-m "not boot"`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import nspawn
from tests.support.dovecot import Dovecot
from tests.support.harness import invitation, text_of
from tests.support.kmeet_simulator import KMeetSimulator
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SOURCE = "/src/kmeet-bridge"  # where the container sees its copy of this directory
NEXT_SOURCE = "/src/kmeet-bridge-next"  # the "newer version" of the upgrade
UNIT = "kmeet-bridge"
CONFIG = "/etc/kmeet-bridge/config.toml"
# Distinctive secrets, looked for in the journal and in `systemctl show`.
IMAP_PASSWORD = "imap-Secret-4711-boot"
SMTP_PASSWORD = "smtp-Secret-0815-boot"
API_TOKEN = "api-Token-9f3e2d1c-boot"
SMTP_USER = "meet@example.com"
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir"]

pytestmark = [pytest.mark.boot, pytest.mark.timeout(900)]


def readme_block(heading: str) -> str:
    """The first ```sh block under `heading` (a whole heading line, e.g. "## Install"),
    before the next heading of the same or a higher level; list indentation removed."""
    lines = README.read_text().splitlines()
    level = heading.split(" ", 1)[0]
    start = lines.index(heading)
    block: list[str] | None = None
    indent = ""
    for line in lines[start + 1 :]:
        if block is None:
            marker = re.match(r"^(\s*)#+ ", line)
            if marker and not marker.group(1) and len(line.split(" ", 1)[0]) <= len(level):
                break
            fence = re.match(r"^(\s*)```sh\s*$", line)
            if fence:
                indent, block = fence.group(1), []
        elif line.strip() == "```":
            return "\n".join(block)
        else:
            block.append(line.removeprefix(indent))
    raise AssertionError(f"README.md has no ```sh block under {heading!r}")


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def set_keys(text: str, changes: dict[str, dict[str, str]]) -> str:
    """Edit a TOML file as a person would: replace the `key = ...` line of each
    key in its [section], keeping every other line and comment."""
    out, section, done = [], "", set()
    for line in text.splitlines():
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            section = header.group(1)
        key = re.match(r"^([a-z_]+)\s*=", line)
        if key and key.group(1) in changes.get(section, {}):
            line = f"{key.group(1)} = {changes[section][key.group(1)]}"
            done.add((section, key.group(1)))
        out.append(line)
    wanted = {(s, k) for s, keys in changes.items() for k in keys}
    assert done == wanted, f"not in the example config: {sorted(wanted - done)}"
    return "\n".join(out) + "\n"


@dataclass
class Setup:
    box: nspawn.Container
    dovecot: Dovecot
    user: str
    password: str
    smtp: SmtpSink
    simulator: KMeetSimulator
    good_config: str = ""

    def sh(self, script: str, **options: object) -> subprocess.CompletedProcess[str]:
        return self.box.run(script, **options)  # type: ignore[arg-type]

    def show(self, *properties: str) -> dict[str, str]:
        out = self.sh(f"systemctl show {UNIT} -p " + ",".join(properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write_config(self, text: str) -> None:
        self.sh(f"cat > {CONFIG}", input=text)

    def deliver(self, raw: bytes) -> None:
        # Appended straight to the mailbox, so no receiving server vouches for the
        # sender: write the header the example configuration's trusted server
        # (trusted_authserv_ids = ["mx.example.com"]) would have added.
        vouched = b"Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n"
        self.dovecot.append(self.user, self.password, "INBOX", vouched + raw)

    def journal(self) -> str:
        return self.box.journal("-u", UNIT, "-o", "cat")

    def wait_for(self, what: str, condition: Callable[[], object], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not within {timeout:.0f} s; the unit's journal:\n"
                    + self.journal()[-4000:]
                )
            time.sleep(0.3)


def boot_problem() -> str | None:
    """Why this machine cannot boot a container, or None. Missing packages are
    not a reason: scripts/test.sh installs them, and their absence fails."""
    if os.environ.get("KMEET_BRIDGE_SKIP_BOOT_TEST"):
        return "KMEET_BRIDGE_SKIP_BOOT_TEST is set"
    if sys.platform != "linux":
        return "systemd-nspawn needs Linux"
    if os.geteuid() != 0:
        return "booting a container with systemd-nspawn needs root"
    if not Path("/proc/self/ns/pid").exists():
        return "this kernel has no PID namespaces"
    return None


@pytest.fixture(scope="module")
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    problem = boot_problem()
    if problem:
        pytest.skip(problem)
    dovecot: Dovecot = request.getfixturevalue("dovecot")  # started only when booting
    missing = nspawn.missing_tools()
    if missing:
        pytest.fail(
            f"missing {', '.join(missing)}: install the Debian packages debootstrap and "
            "systemd-container (scripts/test.sh does)",
            pytrace=False,
        )
    work = tmp_path_factory.mktemp("boot")
    log = work / "container.log"
    root = nspawn.rootfs(work / "debootstrap.log")
    wheels, source, next_source = work / "wheels", work / "src", work / "src-next"
    for directory in (source, next_source):
        copy_source(directory)
    # The newer version of the upgrade test: the same code, a higher version number.
    pyproject = next_source / "pyproject.toml"
    current = f'version = "{project_version()}"'
    pyproject.write_text(pyproject.read_text().replace(current, current[:-1] + '+next"', 1))
    # pip inside the container has no index it trusts: it installs from wheels made here.
    built = subprocess.run(
        [*PIP_WHEEL, str(wheels), str(source), "setuptools>=77"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed: {built.stderr[-3000:]}", pytrace=False)
    pip_conf = work / "pip.conf"
    pip_conf.write_text("[global]\nno-index = true\nfind-links = /mnt/wheels\n")

    user, password = dovecot.add_user(password=IMAP_PASSWORD)
    with (
        SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD)) as smtp,
        KMeetSimulator(token=API_TOKEN) as simulator,
        nspawn.Container(
            root,
            log,
            binds=[(source, SOURCE), (next_source, NEXT_SOURCE)],
            read_only_binds=[(wheels, "/mnt/wheels"), (pip_conf, "/etc/pip.conf")],
        ) as box,
    ):
        box.boot()
        yield Setup(box, dovecot, user, password, smtp, simulator)


@pytest.fixture(autouse=True)
def logs_on_failure(request: pytest.FixtureRequest, setup: Setup) -> Iterator[None]:
    """A failed test shows the unit's state and journal (pytest prints what a
    failed test's teardown wrote)."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print(setup.sh(f"systemctl status {UNIT} --no-pager", check=False).stdout)
        print(setup.box.journal("-b", "-n", "150"))


def copy_source(directory: Path) -> None:
    """The files git tracks, plus the working tree's changes: what a user downloads."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.is_file():
            target = directory / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def run_readme_block(setup: Setup, heading: str, cwd: str = SOURCE) -> None:
    setup.sh("set -euxo pipefail\n" + readme_block(heading), cwd=cwd, timeout=300)


def test_install_configure_and_start_as_the_readme_says(setup: Setup) -> None:
    run_readme_block(setup, "## Install")

    # Configure: the secrets go where the README's block puts them, as it says.
    secrets = {
        "/etc/kmeet-bridge/imap-password": IMAP_PASSWORD,
        "/etc/kmeet-bridge/smtp-password": SMTP_PASSWORD,
        "/etc/kmeet-bridge/api-token": API_TOKEN,
    }
    lines = readme_block("## Configure").splitlines()
    assert len(lines) == len(secrets)
    for line in lines:
        [path] = [p for p in secrets if line.endswith(" " + p)]
        setup.sh(line, input=secrets[path] + "\n")
    # ...and the example, copied by the install block, gets the hosts and the allow-list.
    example = setup.sh(f"cat {CONFIG}").stdout
    setup.good_config = set_keys(
        example,
        {
            "imap": {
                "host": '"127.0.0.1"',
                "port": str(setup.dovecot.port),
                "security": '"plain"',
                "username": f'"{setup.user}"',
            },
            "smtp": {
                "host": '"127.0.0.1"',
                "port": str(setup.smtp.port),
                "security": '"plain"',
                "username": f'"{SMTP_USER}"',
            },
            "kmeet": {
                "api_url": f'"{setup.simulator.url}"',
                "calendar_api_url": f'"{setup.simulator.url}"',
            },
            "senders": {"allow": '["*@example.com", "*@example.org"]'},
        },
    )
    setup.write_config(setup.good_config)

    listing = setup.sh("stat -c '%n %U:%G %a' /etc/kmeet-bridge /etc/kmeet-bridge/*").stdout
    assert sorted(listing.splitlines()) == [
        "/etc/kmeet-bridge root:root 755",
        "/etc/kmeet-bridge/api-token root:root 600",
        "/etc/kmeet-bridge/config.toml root:root 644",
        "/etc/kmeet-bridge/imap-password root:root 600",
        "/etc/kmeet-bridge/smtp-password root:root 600",
    ]
    check = setup.sh("sudo kmeet-bridge check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[:2] == [
        f"config: ok ({CONFIG})",
        "service: ok (its user can read the config; secrets handed over as credentials)",
    ]

    run_readme_block(setup, "## Run as a service")

    state = setup.show("ActiveState", "SubState", "UnitFileState", "User", "Documentation")
    assert state["ActiveState"] == "active", setup.journal()
    assert state["SubState"] == "running"
    assert state["UnitFileState"] == "enabled"
    # Documentation= names a file the install block put there.
    [doc] = re.findall(r"file:(\S+)", state["Documentation"])
    setup.sh(f"cmp {doc} {SOURCE}/README.md")
    # The daemon runs as a dynamic user (systemd's range 61184-65519), not root.
    pid = setup.show("MainPID")["MainPID"]
    assert 61184 <= int(setup.sh(f"stat -c %u /proc/{pid}").stdout) <= 65519


def test_an_invitation_is_answered_with_the_room_link(setup: Setup) -> None:
    setup.deliver(
        invitation(uid="boot-1@example.com", start="20270315T140000", end="20270315T150000")
    )
    setup.smtp.wait_for(1, timeout=60)
    [reply] = setup.smtp.messages
    [room] = setup.simulator.rooms.values()
    assert reply.rcpt_tos == ("alice@example.com",)
    assert reply.login == SMTP_USER
    assert reply.message["Subject"] == "Re: Budget review"
    assert f"https://kmeet.infomaniak.com/{room['name']}" in text_of(reply.message)
    [body] = setup.simulator.planned_bodies
    assert (body["starting_at"], body["timezone"]) == ("2027-03-15 14:00:00", "Europe/Zurich")
    # The state, which holds a protected room's password until its reply is
    # accepted, is the service user's alone.
    modes = setup.sh("stat -L -c '%a' /var/lib/kmeet-bridge /var/lib/private").stdout.split()
    assert modes == ["700", "700"]


def test_check_says_when_the_service_user_cannot_read_the_config(setup: Setup) -> None:
    setup.sh(f"chmod 600 {CONFIG}")
    try:
        check = setup.sh("kmeet-bridge check", check=False)
    finally:
        setup.sh(f"chmod 644 {CONFIG}")
    assert check.returncode == 1
    assert (
        f"service: FAILED: the service's dynamic user cannot read {CONFIG} (mode 0600, owner "
        f"uid 0): make it readable (chmod 644 {CONFIG}) and keep its secrets in the "
        "credential files"
    ) in check.stdout.splitlines()


def test_reload_keeps_the_old_config_when_the_new_one_is_broken(setup: Setup) -> None:
    pid = setup.show("MainPID")["MainPID"]
    setup.write_config(setup.good_config.replace("poll_interval = 60", 'poll_interval = "soon"'))
    setup.sh(f"systemctl reload {UNIT}")
    setup.wait_for(
        "the broken file reported",
        lambda: '[imap] poll_interval must be an integer, got "soon"' in setup.journal(),
    )
    assert setup.show("ActiveState", "MainPID") == {"ActiveState": "active", "MainPID": pid}

    # A good file is taken: the next reply comes from the new name.
    setup.write_config(setup.good_config.replace('from_name = "kMeet"', 'from_name = "Rooms"'))
    setup.sh(f"systemctl reload {UNIT}")
    time.sleep(2)
    setup.deliver(
        invitation(uid="boot-2@example.com", start="20270316T140000", end="20270316T150000")
    )
    setup.smtp.wait_for(2, timeout=60)
    assert setup.smtp.messages[1].message["From"] == "Rooms <meet@example.com>"
    assert setup.show("ActiveState", "MainPID") == {"ActiveState": "active", "MainPID": pid}
    setup.write_config(setup.good_config)
    setup.sh(f"systemctl reload {UNIT}")


def test_stop_ends_it_quickly_as_inactive(setup: Setup) -> None:
    started = time.monotonic()
    setup.sh(f"systemctl stop {UNIT}", timeout=30)
    took = time.monotonic() - started
    state = setup.show("ActiveState", "Result", "ExecMainStatus")
    assert took < 10
    assert state == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}
    setup.sh(f"systemctl start {UNIT}")


def test_a_configuration_error_fails_once_and_stays_failed(setup: Setup) -> None:
    setup.sh(f"systemctl stop {UNIT}")
    setup.write_config(setup.good_config.replace('security = "plain"', 'security = "tls"', 1))
    started = setup.sh(f"systemctl start {UNIT}", check=False)
    assert started.returncode != 0
    invocation = setup.show("InvocationID")["InvocationID"]
    time.sleep(15)  # longer than RestartSec: a restart would have happened by now
    state = setup.show("ActiveState", "Result", "ExecMainStatus", "NRestarts")
    assert state == {
        "ActiveState": "failed",
        "Result": "exit-code",
        "ExecMainStatus": "2",
        "NRestarts": "0",
    }
    lines = setup.box.journal("-o", "cat", f"_SYSTEMD_INVOCATION_ID={invocation}")
    said = [line for line in lines.splitlines() if line.startswith("kmeet-bridge:")]
    assert said == [
        'kmeet-bridge: [imap] security must be one of "ssl", "starttls", "plain", got "tls"'
    ]
    setup.write_config(setup.good_config)
    setup.sh(f"systemctl reset-failed {UNIT} && systemctl start {UNIT}")


def test_a_stopped_daemon_is_restarted_by_the_watchdog(setup: Setup) -> None:
    dropin = f"/etc/systemd/system/{UNIT}.service.d"
    # The shipped 120 s, shortened so the test takes seconds; the mechanism is the same.
    setup.sh(f"mkdir -p {dropin} && printf '[Service]\\nWatchdogSec=6s\\n' > {dropin}/t.conf")
    setup.sh(f"systemctl daemon-reload && systemctl restart {UNIT}")
    try:
        before = setup.show("MainPID", "NRestarts")
        time.sleep(8)  # pings arrive: a running daemon is not killed
        assert setup.show("MainPID", "NRestarts") == before
        setup.sh(f"kill -STOP {before['MainPID']}")
        setup.wait_for(
            "a restart after the watchdog fired",
            lambda: (
                setup.show("NRestarts", "ActiveState")
                == {"NRestarts": str(int(before["NRestarts"]) + 1), "ActiveState": "active"}
            ),
            timeout=60,
        )
        assert setup.show("MainPID")["MainPID"] != before["MainPID"]
        assert "Watchdog timeout" in setup.box.journal("-u", UNIT, "-o", "cat", "-n", "40")
    finally:
        setup.sh(f"rm -r {dropin} && systemctl daemon-reload && systemctl restart {UNIT}")


def test_upgrade_keeps_the_state(setup: Setup) -> None:
    status_before = setup.sh("kmeet-bridge status").stdout.splitlines()[1]
    assert status_before == "messages: 2 planned"
    run_readme_block(setup, "### Upgrade", cwd=NEXT_SOURCE)
    version = setup.sh(
        "/opt/kmeet-bridge/bin/python -c "
        "'import importlib.metadata as m; print(m.version(\"kmeet-bridge\"))'"
    )
    assert version.stdout.strip() == f"{project_version()}+next"
    assert setup.show("ActiveState")["ActiveState"] == "active"
    assert setup.sh("kmeet-bridge status").stdout.splitlines()[1] == status_before

    # The first message again, byte for byte (the same Message-ID): the state
    # knows the meeting, so it gets no second room; it is filed. Being another
    # message in the mailbox (a reply belongs to its folder, UIDVALIDITY and UID,
    # not to a Message-ID anybody can copy), it is answered with the same link.
    replies = len(setup.smtp.messages)
    setup.deliver(
        invitation(uid="boot-1@example.com", start="20270315T140000", end="20270315T150000")
    )
    setup.wait_for(
        "the message filed",
        lambda: setup.dovecot.uids(setup.user, setup.password, "INBOX") == [],
        timeout=60,
    )
    first_url = re.findall(r"https://kmeet\.infomaniak\.com/[a-z-]+", setup.journal())[0]
    assert f"already has room {first_url}; reusing it" in setup.journal()
    time.sleep(1)
    assert len(setup.simulator.planned_bodies) == 2
    assert len(setup.smtp.messages) == replies + 1
    assert first_url in setup.smtp.messages[-1].message.get_body(("plain",)).get_content()


def test_no_secret_in_the_journal_or_the_unit_properties(setup: Setup) -> None:
    seen = (
        setup.box.journal("-b", "-o", "export")
        + setup.sh(f"systemctl show {UNIT}").stdout
        + setup.sh(f"systemctl status {UNIT} --no-pager -n 200", check=False).stdout
    )
    assert f"{UNIT}.service" in seen
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, API_TOKEN):
        assert secret not in seen
