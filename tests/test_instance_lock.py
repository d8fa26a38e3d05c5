"""One bridge per state database: a second `once` (or `run`) stops at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kmeet_bridge.service.instance_lock import InstanceLock, InstanceLocked, lock_path
from kmeet_bridge.store import StoreError
from tests.support.harness import ROOT, BridgeEnv, invitation


def test_a_second_once_is_refused_while_the_first_plans(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    env.deliver(
        invitation(uid="lock-1@example.com", start="20270315T140000", end="20270315T150000")
    )
    # Long enough that the second process (slow to start on a loaded machine)
    # arrives while the first is still in its API call, which may take that long.
    env.write_config(kmeet={"timeout": 20})
    env.simulator.set_delay(6.0)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    first = subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", "--config", str(env.config_path), "once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 10
    while not env.simulator.requests:
        assert time.monotonic() < deadline, "the first bridge never called the API"
        time.sleep(0.02)

    second = env.command("once")
    status = env.command("status")  # reads without the lock

    out, err = first.communicate(timeout=20)
    assert first.returncode == 0, err
    assert out == "pass finished: 1 planned\n"
    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr == (
        f"kmeet-bridge: another kmeet-bridge is running with state {env.state_path} "
        f"(pid {first.pid})\n"
    )
    assert status.returncode == 0, status.stderr
    assert len(env.simulator.requests) == 1
    assert len(env.simulator.rooms) == 1
    assert len(env.smtp.messages) == 1
    # Released at exit: the next one runs.
    env.simulator.reset()
    assert env.command("once").stdout == "pass finished: nothing new\n"


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path) -> None:
    state = tmp_path / "var" / "state.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from kmeet_bridge.service.instance_lock import InstanceLock\n"
            "InstanceLock(Path(sys.argv[1])).acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(state),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(InstanceLocked) as refused:
            InstanceLock(state).acquire()
        assert str(refused.value) == (
            f"another kmeet-bridge is running with state {state} (pid {holder.pid})"
        )
        assert isinstance(refused.value, StoreError)  # the CLI's one-line, exit-1 errors
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

    with InstanceLock(state):
        assert lock_path(state).read_text() == f"{os.getpid()}\n"
        assert lock_path(state).stat().st_mode & 0o777 == 0o600
        with pytest.raises(InstanceLocked):  # a second descriptor, even in one process
            InstanceLock(state).acquire()
    assert lock_path(state).read_text() == ""
    with InstanceLock(state):  # free again
        pass


def test_once_is_refused_while_the_daemon_runs(bridge_env: BridgeEnv) -> None:
    env = bridge_env
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KMEET_BRIDGE")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "kmeet_bridge", "--config", str(env.config_path), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 15
        while not lock_path(env.state_path).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        result = env.command("once")
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"kmeet-bridge: another kmeet-bridge is running with state {env.state_path} "
            f"(pid {daemon.pid})"
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=10)
    assert daemon.returncode == 0
