"""A Debian root file system booted with systemd-nspawn, for the boot test.

The root file system is made once with debootstrap and kept in
/var/cache/kmeet-bridge-tests/, under a hash of what goes into it (suite,
packages, the setup steps below), so a changed recipe builds a new one. Each
boot uses `--volatile=overlay`: the container writes to a tmpfs over the cached
tree, which stays pristine.

The container shares the host's network (no --private-network), so servers the
tests start on 127.0.0.1 are reachable from inside. It is not registered with
machined (`--register=no`), so commands are run inside by entering the
namespaces of its PID 1 with nsenter: they see its file system, its systemd
and its journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

CACHE = Path(os.environ.get("KMEET_BRIDGE_TEST_CACHE", "/var/cache/kmeet-bridge-tests"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-venv",
    "sudo",
    "ca-certificates",
)
HOSTNAME = "kmeet-test"
# Run inside the new tree after debootstrap; part of the cache key.
SETUP = f"""
set -e
echo {HOSTNAME} > /etc/hostname
printf '127.0.0.1 localhost\\n127.0.1.1 {HOSTNAME}\\n' > /etc/hosts
: > /etc/machine-id
apt-get clean
"""
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerError(RuntimeError):
    """The container could not be built, booted or driven; the message says why."""


def missing_tools() -> list[str]:
    return [tool for tool in ("debootstrap", "systemd-nspawn", "nsenter") if not shutil.which(tool)]


def rootfs_key() -> str:
    recipe = "\n".join([SUITE, MIRROR, *PACKAGES, SETUP])
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def rootfs(log: Path, timeout: float = 900) -> Path:
    """The cached root file system, built first if missing. A lock keeps two
    test runs on one machine from building it at once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"debian-{SUITE}-{rootfs_key()}"
    with open(CACHE / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "etc" / "os-release").exists():
            return target
        partial = CACHE / f"{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(PACKAGES),
            SUITE,
            str(partial),
            MIRROR,
        ]
        with open(log, "ab") as out:
            for step in (command, ["chroot", str(partial), "sh", "-c", SETUP]):
                try:
                    done = subprocess.run(step, stdout=out, stderr=out, timeout=timeout)
                except subprocess.TimeoutExpired:
                    raise ContainerError(
                        f"{step[0]} took over {timeout:.0f} s; see {log}"
                    ) from None
                if done.returncode != 0:
                    raise ContainerError(f"{step[0]} failed ({done.returncode}); see {log}")
        partial.rename(target)
        return target


class Container:
    """A booted container: `run` a command inside, `journal` reads its journal."""

    def __init__(
        self,
        root: Path,
        log: Path,
        binds: Sequence[tuple[Path, str]] = (),
        read_only_binds: Sequence[tuple[Path, str]] = (),
    ) -> None:
        self.root = root
        self.log = log
        self.binds = binds
        self.read_only_binds = read_only_binds
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = None
        self.init_pid = 0

    def boot(self, timeout: float = 90) -> None:
        command = [
            "systemd-nspawn",
            f"--directory={self.root}",
            "--register=no",
            "--keep-unit",
            "--boot",
            "--volatile=overlay",
            "--console=pipe",
            f"--machine={HOSTNAME}",
        ]
        command += [f"--bind={host}:{inside}" for host, inside in self.binds]
        command += [f"--bind-ro={host}:{inside}" for host, inside in self.read_only_binds]
        self._log_file = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.init_pid:
            self._alive_or_raise()
            self.init_pid = self._child_of(self._process.pid)
            if time.monotonic() > deadline:
                raise ContainerError(f"the container's init did not appear in {timeout:.0f} s")
            time.sleep(0.2)
        state = ""
        while time.monotonic() < deadline:
            self._alive_or_raise()
            state = self.run("systemctl is-system-running", check=False, timeout=10).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise ContainerError(f"the container did not finish booting in {timeout:.0f} s ({state})")

    def run(
        self,
        script: str,
        *,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
        cwd: str = "/",
    ) -> subprocess.CompletedProcess[str]:
        """Run `script` with bash inside the container, as its root, with a clean
        environment (nothing of the host's leaks in)."""
        command = [
            "nsenter",
            f"--target={self.init_pid}",
            "--all",
            "env",
            "-i",
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            "bash",
            "-c",
            f"cd {cwd} && {script}",
        ]
        try:
            done = subprocess.run(
                command, input=input, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise ContainerError(f"took over {timeout:.0f} s in the container: {script}") from None
        if check and done.returncode != 0:
            raise ContainerError(
                f"failed ({done.returncode}) in the container: {script}\n"
                f"stdout: {done.stdout[-3000:]}\nstderr: {done.stderr[-3000:]}"
            )
        return done

    def journal(self, *args: str) -> str:
        return self.run("journalctl --no-pager " + " ".join(args), check=False).stdout

    def stop(self, timeout: float = 30) -> None:
        """Power off (SIGTERM to nspawn asks the container's systemd to shut down),
        then kill whatever is left: nothing outlives the test."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            # The container's init leads its own PID namespace: killing it ends the
            # rest. Only if that PID is still a systemd (not a reused number).
            with contextlib.suppress(OSError):
                if Path(f"/proc/{self.init_pid}/comm").read_text().strip() == "systemd":
                    os.kill(self.init_pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _alive_or_raise(self) -> None:
        assert self._process is not None
        if self._process.poll() is not None:
            raise ContainerError(
                f"systemd-nspawn exited with {self._process.returncode}: "
                + self.log.read_text(errors="replace")[-3000:]
            )

    @staticmethod
    def _child_of(pid: int) -> int:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                if children:
                    return int(children[0])
        return 0
