"""A single-node Slurm cluster on 127.0.0.1, from Debian's packages, for the test suite.

munged, slurmctld and slurmd run as root with their key, configuration, state, spool and logs
in one scratch folder, so starting and stopping the cluster touches nothing else::

    python tests/cluster/localslurm.py start DIR    # then: export SLURM_CONF=DIR/slurm.conf
    python tests/cluster/localslurm.py stop DIR

The Debian packages are ``munge slurm-wlm slurmctld slurmd slurm-client slurm-wlm-torque``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGES = (
    "munge",
    "slurm-wlm",
    "slurmctld",
    "slurmd",
    "slurm-client",
    "slurm-wlm-torque",
)
PROGRAMS = (
    "munged",
    "mungekey",
    "slurmctld",
    "slurmd",
    "sbatch",
    "scontrol",
    "sinfo",
    "qsub",
)
PARTITION = "workq"
# Daemons live in /usr/sbin, which a non-login PATH may lack.
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]
)


def missing_programs() -> list[str]:
    """Return the programs the cluster needs that are not installed."""
    return [
        name
        for name in PROGRAMS
        if shutil.which(name, path=SEARCH_PATH) is None
    ]


def program(name: str) -> str:
    """Return the full path of an installed program."""
    found = shutil.which(name, path=SEARCH_PATH)
    if found is None:
        raise FileNotFoundError(
            f"{name} is not installed (Debian: {' '.join(DEBIAN_PACKAGES)})"
        )
    return found


def node_line() -> str:
    """Return this machine's slurm.conf node line, as ``slurmd -C`` measures it."""
    measured = subprocess.run(
        [program("slurmd"), "-C"], capture_output=True, text=True, check=True
    ).stdout
    first = measured.splitlines()[0]
    # Slurm requires NodeName to be the short host name slurmd runs on.
    words = [
        w for w in first.split() if not w.startswith(("NodeName=", "UpTime="))
    ]
    return " ".join(
        [
            f"NodeName={socket.gethostname().split('.')[0]}",
            "NodeAddr=127.0.0.1",
            *words,
        ]
    )


@dataclass(frozen=True)
class LocalSlurm:
    """A one-node Slurm cluster whose every file lives under ``root``."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    def env(self) -> dict[str, str]:
        """Return the environment in which Slurm's commands talk to this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": SEARCH_PATH}

    def write_config(self) -> None:
        """Write slurm.conf for this machine: no cgroups, no accounting, short timeouts."""
        host = socket.gethostname().split(".")[0]
        r = self.root
        lines = [
            "ClusterName=dlcourse",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # A requeued job may start again only once its old credential expired: keep it short.
            f"AuthInfo=socket={self.munge_socket},cred_expire=10",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "MpiDefault=none",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=5",
            "KillWait=5",
            "InactiveLimit=0",
            "MinJobAge=600",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'slurmd.log'}",
            node_line(),
            f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd; return once the node accepts jobs."""
        for sub in ("state", "spool", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # munged refuses a key, socket or log folder that others may write to.
        os.chmod(self.root, 0o755)
        os.chmod(self.root / "munge", 0o700)
        self.write_config()
        key = self.root / "munge" / "munge.key"
        if not key.exists():
            _run(program("mungekey"), "--create", f"--keyfile={key}")
        _run(
            program("munged"),
            "--force",
            f"--socket={self.munge_socket}",
            f"--key-file={key}",
            f"--pid-file={self.root / 'munge' / 'munged.pid'}",
            f"--log-file={self.root / 'munge' / 'munged.log'}",
            f"--seed-file={self.root / 'munge' / 'munged.seed'}",
        )
        env = self.env()
        # -c: start from empty state, so jobs of an earlier run do not come back.
        _run(program("slurmctld"), "-c", "-f", str(self.conf), env=env)
        _run(program("slurmd"), "-f", str(self.conf), env=env)
        self.wait_for_node(timeout)

    def wait_for_node(self, timeout: float) -> None:
        """Wait until the node reports itself idle; raise RuntimeError with the logs if not."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            done = subprocess.run(
                [program("sinfo"), "--noheader", "--format=%T"],
                capture_output=True,
                text=True,
                env=self.env(),
            )
            state = done.stdout.strip()
            if done.returncode == 0 and state in ("idle", "mixed", "allocated"):
                return
            time.sleep(1)
        raise RuntimeError(
            f"the Slurm node did not come up (state {state!r}):\n{self.logs()}"
        )

    def logs(self) -> str:
        """Return the tails of the daemons' logs, for error messages."""
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.root / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-15:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job, then stop the daemons by the PIDs in their pid files."""
        if self.conf.exists() and (self.root / "slurmctld.pid").exists():
            subprocess.run(
                [program("scancel"), "--full", "--user=root"],
                env=self.env(),
                capture_output=True,
            )
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            _stop_pid_file(self.root / pid_file)


def _run(*argv: str, env: dict[str, str] | None = None) -> None:
    """Run a daemon's start command, which forks and returns; raise with its output if it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}"
        )


def _stop_pid_file(path: Path, timeout: float = 15.0) -> None:
    """Send SIGTERM to the process named in ``path`` and wait until it has exited."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """Start or stop the cluster in a folder; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    cluster = LocalSlurm(args.folder.resolve())
    if args.action == "start":
        missing = missing_programs()
        if missing:
            print(f"not installed: {' '.join(missing)}", file=sys.stderr)
            return 1
        try:
            cluster.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as err:
            cluster.stop()
            print(err, file=sys.stderr)
            return 1
        print(f"SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
