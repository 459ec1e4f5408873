"""Generated batch scripts on a real single-node Slurm cluster (``nox -s cluster``).

The jobs are the course's own, from ``cluster.course_jobs``: the scripts the book shows are the
ones submitted here, with only their folders and, where a test needs it, their timing changed.
The cluster is the one ``$SLURM_CONF`` names, as the nox session starts it; without one, these
tests start their own when run as root with Debian's Slurm packages installed, else they skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest
from localslurm import LocalSlurm, missing_programs, program

from dlcourse import cluster
from dlcourse.cluster import JobSpec, render_jobscript

pytestmark = pytest.mark.cluster

COUNTSTEPS = Path(__file__).with_name("countsteps.py")
HOSTILE_NAME = "smoke $(touch pwned) `touch pwned`; it's"


@pytest.fixture(scope="module")
def slurm_env():
    """Return the environment in which sbatch, scontrol and qsub reach a running cluster."""
    if os.environ.get("SLURM_CONF"):
        yield {**os.environ, "PATH": f"{os.environ['PATH']}:/usr/sbin"}
        return
    missing = missing_programs()
    if missing or os.geteuid() != 0:
        pytest.skip(
            f"a local Slurm needs root and {' '.join(missing) or 'its programs'}"
        )
    # munged's socket lives in this folder, and a socket's path is limited to about 100 bytes.
    cluster = LocalSlurm(Path(tempfile.mkdtemp(prefix="dlcourse-slurm-")))
    try:
        cluster.start()
        yield cluster.env()
    finally:
        cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)


def submit(script: str, folder: Path, env: dict[str, str]) -> str:
    """Write the script into ``folder``, submit it with sbatch from there; return the job ID."""
    path = folder / "job.sh"
    path.write_text(script)
    done = subprocess.run(
        [program("sbatch"), "--parsable", str(path)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().split(";")[0]


def job_fields(job_id: str, env: dict[str, str]) -> dict[str, str]:
    """Return the fields ``scontrol show job`` reports for a job."""
    shown = subprocess.run(
        [program("scontrol"), "--oneliner", "show", "job", job_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # JobName is the one field whose value may hold spaces: it runs up to the next field.
    name = re.search(r"JobName=(.*?) UserId=", shown)
    fields = dict(word.split("=", 1) for word in shown.split() if "=" in word)
    fields["JobName"] = name[1] if name else ""
    return fields


def wait_for(condition, timeout: float, what: str, folder: Path) -> None:
    """Poll ``condition`` every second; fail with the job's output files if it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            outputs = "\n".join(
                f"--- {p}\n{p.read_text()}"
                for p in sorted(folder.glob("*.log"))
            )
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what}\n{outputs}"
            )
        time.sleep(1)


def finished(job_id: str, env: dict[str, str]) -> bool:
    return job_fields(job_id, env)["JobState"] in (
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
    )


def count_steps(out: Path, steps: int, step_seconds: float) -> list[str]:
    """Return the command of a tiny resumable run that keeps ``dlcourse train``'s contract."""
    return [
        sys.executable,
        str(COUNTSTEPS),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--step-seconds",
        str(step_seconds),
    ]


def course_job(name: str, workdir: Path, **changes) -> JobSpec:
    """Return the course's job ``name`` run in ``workdir`` (made here) with this environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    # The job activates the environment these tests run in, as a user's job would.
    spec = cluster.course_jobs(str(workdir), venv=sys.prefix)[name]
    return replace(spec, **changes)


def option(spec: JobSpec, flag: str) -> str:
    """Return the value that follows ``flag`` in the job's command."""
    return spec.command[spec.command.index(flag) + 1]


def comparable(result_file: Path) -> dict:
    """Return a result without what differs between equal runs: times, paths, file hashes."""
    result = json.loads(result_file.read_text())
    timing = ("seconds", "images_per_second")
    return {
        "key": result["key"],
        "profile": result["profile"],
        "test_accuracy": result["test_accuracy"],
        "test_loss": result["test_loss"],
        "history": [
            {k: v for k, v in e.items() if k not in timing}
            for e in result["history"]
        ],
    }


@pytest.fixture(scope="module")
def uninterrupted_run(slurm_env, tmp_path_factory) -> tuple[str, JobSpec, Path]:
    """Submit the smoke training job, wait for it; return its job ID, spec and work folder."""
    workdir = tmp_path_factory.mktemp("uninterrupted") / "work $(touch pwned)"
    spec = course_job(
        "smoke_training", workdir, job_name=HOSTILE_NAME, output="out %j.log"
    )
    job_id = submit(render_jobscript(spec), workdir, slurm_env)
    wait_for(lambda: finished(job_id, slurm_env), 300, f"job {job_id}", workdir)
    return job_id, spec, workdir


def test_a_smoke_training_job_runs_and_writes_its_result(
    slurm_env, uninterrupted_run
):
    job_id, spec, workdir = uninterrupted_run
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    assert fields["ExitCode"] == "0:0"
    assert fields["JobName"] == HOSTILE_NAME
    assert fields["TimeLimit"] == "00:10:00"
    result = json.loads(
        (workdir / option(spec, "--out") / "result.json").read_text()
    )
    assert result["profile"] == "smoke"
    assert len(result["history"]) == int(option(spec, "--epochs"))
    assert 0.5 < result["test_accuracy"] <= 1
    # The output file's relative path is taken in the job's working directory.
    assert (
        "softmax: test accuracy" in (workdir / f"out {job_id}.log").read_text()
    )
    assert list(workdir.parent.rglob("pwned")) == []


def test_a_warned_job_checkpoints_requeues_and_ends_as_an_uninterrupted_run(
    slurm_env, uninterrupted_run, tmp_path
):
    spec = course_job("walltime_safe", tmp_path)
    out = tmp_path / option(spec, "--out")
    script = render_jobscript(spec)
    assert "#SBATCH --signal=B:USR1@60" in script
    job_id = submit(script, tmp_path, slurm_env)
    wait_for(
        lambda: (out / "checkpoint.json").exists(),
        240,
        "the first checkpoint",
        tmp_path,
    )
    # The warning a time limit brings, delivered now, to the batch shell as --signal=B: does.
    subprocess.run(
        [program("scancel"), "--batch", "--signal=USR1", job_id],
        env=slurm_env,
        check=True,
    )
    wait_for(
        lambda: (out / "result.json").exists(),
        240,
        "the requeued job's result",
        tmp_path,
    )
    wait_for(
        lambda: finished(job_id, slurm_env),
        60,
        f"job {job_id} to end",
        tmp_path,
    )

    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    assert fields["Restarts"] == "1"
    text = (tmp_path / f"walltime-safe.{job_id}.log").read_text()
    assert "stopped by signal" in text
    assert f"requeueing job {job_id}" in text
    assert "resuming after epoch" in text
    _, reference_spec, reference = uninterrupted_run
    assert comparable(out / "result.json") == comparable(
        reference / option(reference_spec, "--out") / "result.json"
    )


def test_a_pbs_script_runs_through_qsub_and_qstat(slurm_env, tmp_path):
    spec = course_job("pbs_training", tmp_path)
    (tmp_path / "job.pbs").write_text(render_jobscript(spec))
    submitted = subprocess.run(
        [program("qsub"), "-o", str(tmp_path / "job.log"), "job.pbs"],
        cwd=tmp_path,
        env=slurm_env,
        capture_output=True,
        text=True,
        check=True,
    )
    job_id = submitted.stdout.strip()
    assert job_id.isdigit(), submitted.stdout

    def qstat_done() -> bool:
        shown = subprocess.run(
            [program("qstat"), job_id],
            env=slurm_env,
            capture_output=True,
            text=True,
        )
        # qstat shows the job with state C once it completed (or no longer knows it).
        rows = [
            line.split()
            for line in shown.stdout.splitlines()
            if line.startswith(job_id)
        ]
        return not rows or rows[0][4] == "C"

    wait_for(qstat_done, 300, f"qstat to show job {job_id} completed", tmp_path)
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    assert fields["JobName"] == "cnn.tf.gpu"
    assert fields["TimeLimit"] == "00:10:00"
    assert fields["Partition"] == "workq"
    assert "cnn: test accuracy" in (tmp_path / "job.log").read_text()
    result = json.loads(
        (tmp_path / option(spec, "--out") / "result.json").read_text()
    )
    assert result["profile"] == "smoke"
    assert result["config"]["arch"]["kind"] == "cnn"


def test_a_pbs_job_warned_by_its_own_timer_resubmits_itself_and_finishes(
    slurm_env, tmp_path
):
    steps, step_seconds = 30, 0.5
    out = tmp_path / "run"
    # The timer warns 10 s after the start: the first job stops after about 20 steps, and the
    # resubmitted one needs about 5 s for the rest, well before its own timer.
    spec = course_job(
        "pbs_training",
        tmp_path,
        command=count_steps(out, steps, step_seconds),
        job_name="resubmit-me",
        walltime="0:02:00",
        warning_seconds=110,
        output=str(tmp_path / "job.log"),
    )
    (tmp_path / "job.pbs").write_text(render_jobscript(spec))
    subprocess.run(
        [program("qsub"), "-o", str(tmp_path / "job.log"), "job.pbs"],
        cwd=tmp_path,
        env=slurm_env,
        capture_output=True,
        check=True,
    )
    wait_for(
        lambda: (out / "result.json").exists(),
        180,
        "the resubmitted job's result",
        tmp_path,
    )
    assert (out / "starts.txt").read_text().count("\n") == 2
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    assert 0 < checkpoint["step"] < steps
    assert json.loads((out / "result.json").read_text()) == {
        "step": steps,
        "total": sum(i * i for i in range(steps)),
    }


def test_the_srun_torchrun_form_trains_one_model_in_two_processes(
    slurm_env, tmp_path
):
    spec = course_job("torchrun", tmp_path)
    # The node's name may not resolve to an address gloo can use; loopback always does.
    spec = replace(spec, env=[*spec.env, "GLOO_SOCKET_IFNAME=lo"])
    script = render_jobscript(spec)
    assert "srun torchrun --standalone --nproc-per-node=2 " in script
    job_id = submit(script, tmp_path, slurm_env)
    wait_for(
        lambda: finished(job_id, slurm_env), 300, f"job {job_id}", tmp_path
    )
    log = (tmp_path / f"torchrun.{job_id}.log").read_text()
    assert job_fields(job_id, slurm_env)["JobState"] == "COMPLETED", log
    assert "2 processes share each batch of 128" in log
    # Only the first process reports.
    assert log.count("mlp_relu: test accuracy") == 1
    result = json.loads(
        (tmp_path / option(spec, "--out") / "result.json").read_text()
    )
    digests = result["provenance"]["rank_weight_digests"]
    assert result["provenance"]["world_size"] == 2
    assert len(digests) == 2 and digests[0] == digests[1]


def test_the_time_limit_warning_itself_makes_the_job_checkpoint_and_requeue(
    slurm_env, tmp_path
):
    # Slurm checks time limits about every 30 s: a warning 100 s before a 2-minute limit comes
    # 20 to 50 s into each run, while 60 one-second steps are still going.
    steps = 60
    out, log = tmp_path / "run", tmp_path / "job.log"
    spec = course_job(
        "walltime_safe",
        tmp_path,
        command=count_steps(out, steps, step_seconds=1.0),
        output=str(log),
        walltime="0:02:00",
        warning_seconds=100,
    )
    job_id = submit(render_jobscript(spec), tmp_path, slurm_env)
    wait_for(
        lambda: (out / "result.json").exists(),
        400,
        "the job's result",
        tmp_path,
    )
    wait_for(
        lambda: finished(job_id, slurm_env),
        60,
        f"job {job_id} to end",
        tmp_path,
    )
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    restarts = int(fields["Restarts"])
    assert restarts >= 1
    assert (out / "starts.txt").read_text().split() == [
        "-",
        *map(str, range(1, restarts + 1)),
    ]
    assert log.read_text().count("checkpoint written") == restarts
    assert json.loads((out / "result.json").read_text()) == {
        "step": steps,
        "total": sum(i * i for i in range(steps)),
    }
