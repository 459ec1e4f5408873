"""Generated batch scripts on a real single-node Slurm cluster (``nox -s cluster``).

The jobs are the course's own, from ``cluster.course_jobs``: the scripts the book shows are the
ones submitted here, with only their folders, their GPUs (none here) and the smoke profile
changed, and where a test needs it their timing. They run the gallery's scripts as a reader
downloads them. The cluster is the one ``$SLURM_CONF`` names, as the nox session starts it;
without one, these tests start their own when run as root with Debian's Slurm packages
installed, else they skip.
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
GALLERY = Path(__file__).resolve().parents[2] / "gallery" / "mnist_models"
HOSTILE_NAME = "smoke $(touch pwned) `touch pwned`; it's"
# What the jobs add to the chapter's: the small profile, and figures drawn to files only.
SMOKE = ("DLCOURSE_PROFILE=smoke", "MPLBACKEND=Agg")
RESULT = "cluster_example.json"
CHECKPOINT = "cluster_example_checkpoint.pt"


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


def warn_once_ready(
    job_id: str,
    ready: Path,
    env: dict[str, str],
    *,
    batch: bool = True,
    timeout: float = 240,
) -> None:
    """Wait until the job has written ``ready``, then send it the walltime's warning.

    ``batch`` sends USR1 to the batch shell, as ``--signal=B:`` does; without it the
    signal goes to the job's steps, as ``--signal=`` without ``B:`` does.
    """
    wait_for(ready.exists, timeout, ready.name, ready.parent)
    scancel = [program("scancel"), "--signal=USR1", job_id]
    if batch:
        scancel.insert(1, "--batch")
    subprocess.run(scancel, env=env, check=True)


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
    """Return the course's job ``name`` run in ``workdir`` (made here) on no GPU, smoke-sized."""
    workdir.mkdir(parents=True, exist_ok=True)
    # The job activates the environment these tests run in, as a user's job would.
    jobs = cluster.course_jobs(str(workdir), venv=sys.prefix, gpus=0, env=SMOKE)
    # The local node has two cores: one for each job's process, two for torchrun's.
    return replace(jobs[name], **{"cpus_per_task": 1, **changes})


def download(script: str, folder: Path, epochs: int | None = None) -> Path:
    """Copy a gallery script into ``folder``, with ``epochs`` changed as a reader would."""
    text = (GALLERY / script).read_text()
    if epochs is not None:
        text, count = re.subn(
            r"^epochs = \d+$", f"epochs = {epochs}", text, flags=re.M
        )
        assert count == 1
    copy = folder / script
    copy.write_text(text)
    return copy


def test_the_cnn_job_runs_the_downloaded_keras_example(slurm_env, tmp_path):
    workdir = tmp_path / "work $(touch pwned)"
    spec = course_job(
        "cnn", workdir, job_name=HOSTILE_NAME, output="out %j.log"
    )
    download("plot_cnn.py", workdir)
    script = render_jobscript(spec)
    job_id = submit(script, workdir, slurm_env)
    wait_for(lambda: finished(job_id, slurm_env), 400, f"job {job_id}", workdir)
    fields = job_fields(job_id, slurm_env)
    log = (workdir / f"out {job_id}.log").read_text()
    assert fields["JobState"] == "COMPLETED", log
    assert fields["ExitCode"] == "0:0"
    assert fields["JobName"] == HOSTILE_NAME
    assert fields["TimeLimit"] == "01:00:00"
    result = json.loads((workdir / "cnn.json").read_text())
    assert result["device"] == "CPU" and result["train_images"] == 2000
    assert 0.5 < result["test_accuracy"] <= 1
    assert list(tmp_path.rglob("pwned")) == []


def test_a_warned_job_checkpoints_requeues_and_resumes(slurm_env, tmp_path):
    epochs = 150
    spec = course_job("walltime_safe", tmp_path)
    download(cluster.CLUSTER_EXAMPLE, tmp_path, epochs)
    script = render_jobscript(spec)
    assert "#SBATCH --signal=B:USR1@120" in script
    job_id = submit(script, tmp_path, slurm_env)
    # The warning a time limit brings, delivered now, after the first checkpoint.
    warn_once_ready(job_id, tmp_path / CHECKPOINT, slurm_env)
    wait_for(
        lambda: (tmp_path / RESULT).exists(),
        300,
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
    text = (tmp_path / f"walltime-safe.{job_id}.log").read_text()
    assert fields["JobState"] == "COMPLETED", text
    assert fields["Restarts"] == "1"
    assert "checkpoint written" in text
    assert f"requeueing job {job_id}" in text
    assert "resuming at epoch" in text
    result = json.loads((tmp_path / RESULT).read_text())
    assert len(result["history"]["loss"]) == epochs


def test_the_docstrings_srun_job_is_warned_through_srun_and_requeued(
    slurm_env, tmp_path
):
    """The three-line job in the example's docstring, as a reader pastes it."""
    docstring = (GALLERY / cluster.CLUSTER_EXAMPLE).read_text().split('"""')[1]
    pasted = docstring[docstring.index("#!/bin/bash") :].splitlines()
    job = [line.strip() for line in pasted if line.strip()]
    assert job[1].startswith("#SBATCH --gpus=1 ")
    # No GPU here; the rest as printed.
    job[1] = job[1].replace("--gpus=1 ", "")
    job.insert(2, f"source {sys.prefix}/bin/activate")
    job.insert(2, "export " + " ".join(SMOKE))
    epochs = 150
    download(cluster.CLUSTER_EXAMPLE, tmp_path, epochs)
    job_id = submit("\n".join(job) + "\n", tmp_path, slurm_env)
    # To the job's steps, as --signal=USR1@120 (no B:) does.
    warn_once_ready(job_id, tmp_path / CHECKPOINT, slurm_env, batch=False)
    wait_for(lambda: (tmp_path / RESULT).exists(), 300, "the result", tmp_path)
    wait_for(lambda: finished(job_id, slurm_env), 60, "the job", tmp_path)
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    assert fields["Restarts"] == "1"
    text = (tmp_path / f"slurm-{job_id}.out").read_text()
    assert "checkpoint written" in text and "resuming at epoch" in text


def test_the_chapters_keras_job_requeues_on_the_warning_and_resumes(
    slurm_env, tmp_path
):
    """The chapter's lines for plot_cnn.py: pass the warning on, requeue on status 75."""
    chapter = (
        GALLERY.parents[1] / "book" / "running_on_a_cluster.md"
    ).read_text()
    blocks = re.findall(r"```bash\n(.*?)```", chapter, flags=re.S)
    (shown,) = [
        block
        for block in blocks
        if "python plot_cnn.py" in block and "scontrol requeue" in block
    ]
    epochs = 30
    download("plot_cnn.py", tmp_path, epochs)
    directives, *commands = shown.splitlines()
    assert directives.startswith("#SBATCH ")
    job = [
        "#!/bin/bash",
        directives,
        f"export {' '.join(SMOKE)}",
        f"source {sys.prefix}/bin/activate",
        *commands,
    ]
    job_id = submit("\n".join(job) + "\n", tmp_path, slurm_env)
    # Warned as the first backup is being written, the worst moment: the run
    # finishes the backup before it stops.
    warn_once_ready(job_id, tmp_path / "cnn_backup", slurm_env, timeout=300)
    wait_for(
        lambda: (tmp_path / "cnn.json").exists(), 600, "cnn.json", tmp_path
    )
    wait_for(lambda: finished(job_id, slurm_env), 60, "the job", tmp_path)
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", fields
    assert fields["Restarts"] == "1"
    assert not (tmp_path / "cnn_backup").exists()


def test_the_pbs_twin_runs_through_qsub_and_qstat(slurm_env, tmp_path):
    spec = course_job("cnn_pbs", tmp_path)
    download("plot_cnn.py", tmp_path)
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

    wait_for(qstat_done, 400, f"qstat to show job {job_id} completed", tmp_path)
    fields = job_fields(job_id, slurm_env)
    assert fields["JobState"] == "COMPLETED", (tmp_path / "job.log").read_text()
    assert fields["JobName"] == "cnn.tf.gpu"
    assert fields["TimeLimit"] == "01:00:00"
    assert fields["Partition"] == "workq"
    result = json.loads((tmp_path / "cnn.json").read_text())
    assert result["train_images"] == 2000


def test_a_pbs_job_warned_by_its_own_timer_resubmits_itself_and_finishes(
    slurm_env, tmp_path
):
    steps, step_seconds = 30, 0.5
    out = tmp_path / "run"
    # The timer warns 10 s after the start: the first job stops after about 20 steps, and the
    # resubmitted one needs about 5 s for the rest, well before its own timer.
    spec = course_job(
        "walltime_safe_pbs",
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


def test_the_torchrun_job_trains_one_model_in_two_processes(
    slurm_env, tmp_path
):
    spec = course_job("ddp", tmp_path)
    # The node's name may not resolve to an address gloo can use; loopback always does.
    spec = replace(spec, env=[*spec.env, "GLOO_SOCKET_IFNAME=lo"])
    download(cluster.CLUSTER_EXAMPLE, tmp_path)
    script = render_jobscript(spec)
    assert "torchrun --standalone --nproc-per-node=2 " in script
    job_id = submit(script, tmp_path, slurm_env)
    wait_for(
        lambda: finished(job_id, slurm_env), 300, f"job {job_id}", tmp_path
    )
    log = (tmp_path / f"ddp.{job_id}.log").read_text()
    assert job_fields(job_id, slurm_env)["JobState"] == "COMPLETED", log
    assert "2 process(es) on cpu" in log
    # Only the first process reports.
    assert log.count("test accuracy:") == 1
    result = json.loads((tmp_path / RESULT).read_text())
    assert result["processes"] == 2


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
