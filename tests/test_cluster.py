"""Tests of the batch scripts: their directives, their validation, and that no value escapes its
quotes when bash runs the script. The tests against a real Slurm are in tests/cluster/."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcourse import cluster
from dlcourse.cluster import JobSpec, render_jobscript

BASH = shutil.which("bash")
COUNTSTEPS = Path(__file__).parent / "cluster" / "countsteps.py"
# Values a careless script would execute or split: every one must arrive verbatim.
HOSTILE = [
    "two words",
    "it's",
    'say "hi"',
    "$(touch pwned)",
    "`touch pwned`",
    "a; touch pwned",
    "$HOME",
    "*",
    "a\nb",
    "--flag=x y",
    "",
]
ECHO_ARGV = [
    sys.executable,
    "-c",
    "import json, sys; json.dump(sys.argv[1:], open('argv.json', 'w'))",
]


def directives(script: str, prefix: str) -> list[str]:
    """Return the directive lines of a script, without their prefix."""
    return [
        line[len(prefix) :].strip()
        for line in script.splitlines()
        if line.startswith(prefix)
    ]


def run_script(
    script: str, folder: Path, **kwargs
) -> subprocess.CompletedProcess:
    """Save the script in ``folder`` and run it there with bash."""
    path = folder / "job.sh"
    path.write_text(script)
    return subprocess.run(
        [BASH, str(path)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_slurm_directives_ask_for_what_the_spec_says():
    spec = JobSpec(
        ["dlcourse", "train", "cnn"],
        job_name="cnn.tf.gpu",
        nodes=2,
        tasks_per_node=4,
        cpus_per_task=5,
        gpus_per_node=4,
        memory="64g",
        walltime="3-00:00:00",
        queue="gpu",
        account="loni_abc",
        output="cnn.%j.out",
        error="cnn.%j.err",
        workdir="/project/me",
    )
    assert directives(render_jobscript(spec), "#SBATCH") == [
        "--job-name=cnn.tf.gpu",
        "--nodes=2",
        "--ntasks-per-node=4",
        "--cpus-per-task=5",
        "--gpus-per-node=4",
        "--mem=64G",
        "--time=72:00:00",
        "--partition=gpu",
        "--account=loni_abc",
        "--output=cnn.%j.out",
        "--error=cnn.%j.err",
        "--chdir=/project/me",
    ]


def test_several_slurm_tasks_start_under_srun_and_one_task_runs_directly():
    many = render_jobscript(JobSpec(["python", "x.py"], nodes=2))
    one = render_jobscript(JobSpec(["python", "x.py"]))
    assert many.rstrip().splitlines()[-1] == "srun python x.py"
    assert one.rstrip().splitlines()[-1] == "python x.py"


def test_pbs_directives_ask_for_a_selection_of_cores():
    spec = JobSpec(
        ["python", "mnist_cnn.py"],
        scheduler="pbs",
        job_name="cnn.tf.gpu",
        tasks_per_node=20,
        walltime="72:00:00",
        memory="16G",
        queue="workq",
        account="loni_loniadmin1",
        output="cnn.tf.gpu.out",
        error="cnn.tf.gpu.err",
        env=["KERAS_BACKEND=tensorflow"],
    )
    script = render_jobscript(spec)
    assert directives(script, "#PBS") == [
        "-N cnn.tf.gpu",
        "-l select=1:ncpus=20",
        "-l walltime=72:00:00",
        "-l mem=16gb",
        "-q workq",
        "-A loni_loniadmin1",
        "-o cnn.tf.gpu.out",
        "-e cnn.tf.gpu.err",
    ]
    body = [
        line
        for line in script.splitlines()
        if line and not line.startswith("#")
    ]
    assert body == [
        'cd "${PBS_O_WORKDIR:-$PWD}" || exit 1',
        "export KERAS_BACKEND=tensorflow",
        "python mnist_cnn.py",
    ]


def test_walltime_safe_slurm_script_asks_for_the_warning_and_requeues_on_75():
    spec = JobSpec(
        ["python", "train.py"],
        walltime="1:00:00",
        warning_seconds=120,
        requeue=True,
    )
    script = render_jobscript(spec)
    assert "--signal=B:USR1@120" in directives(script, "#SBATCH")
    assert "--requeue" in directives(script, "#SBATCH")
    assert "--open-mode=append" in directives(script, "#SBATCH")
    assert "trap 'relay USR1' USR1" in script
    assert 'if [ "$status" -eq 75 ]; then' in script
    assert 'scontrol requeue "$SLURM_JOB_ID"' in script


def logical_lines(script: str) -> list[str]:
    """Return the script's lines with each continued line (ending in \\) joined up."""
    return script.replace(" \\\n    ", " ").rstrip().splitlines()


def test_torchrun_replaces_python_and_spans_the_nodes():
    spec = JobSpec(
        ["python", "-m", "dlcourse", "train", "cnn"],
        nodes=2,
        gpus_per_node=4,
        cpus_per_task=8,
        torchrun=True,
    )
    script = render_jobscript(spec)
    assert directives(script, "#SBATCH")[1:4] == [
        "--nodes=2",
        "--cpus-per-task=32",
        "--gpus-per-node=4",
    ]
    launch = logical_lines(script)[-1]
    assert launch.startswith(
        'srun torchrun --nnodes="$SLURM_JOB_NUM_NODES" --nproc-per-node=4 '
    )
    assert '--rdzv-endpoint="$head_node:29500"' in launch
    assert launch.endswith(" -m dlcourse train cnn")


def test_torchrun_runs_other_programs_without_python_and_on_one_node_standalone():
    spec = JobSpec(
        ["dlcourse", "train", "cnn"], tasks_per_node=2, torchrun=True
    )
    launch = logical_lines(render_jobscript(spec))[-1]
    assert (
        launch
        == "torchrun --standalone --nproc-per-node=2 --no-python dlcourse train cnn"
    )
    # torchrun dies of SIGUSR1 but passes SIGTERM on to its workers.
    assert "trap 'relay TERM' USR1" in render_jobscript(
        JobSpec(["python", "x.py"], torchrun=True, warning_seconds=60)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scheduler": "sge"}, "scheduler must be one of slurm, pbs"),
        ({"command": []}, "command must be a non-empty list"),
        ({"command": "python x.py"}, "list of strings, not one string"),
        ({"nodes": 0}, "nodes must be at least 1"),
        ({"tasks_per_node": -1}, "tasks_per_node must be at least 1"),
        ({"gpus_per_node": -2}, "gpus_per_node must be at least 0"),
        ({"cpus_per_task": 1.5}, "cpus_per_task must be a whole number"),
        ({"nodes": True}, "nodes must be a whole number"),
        ({"warning_seconds": -5}, "warning_seconds must be at least 0"),
        ({"walltime": "1h"}, "walltime must look like H:MM:SS"),
        ({"walltime": "1:60:00"}, "walltime must look like H:MM:SS"),
        ({"walltime": "0:00:00"}, "walltime must be longer than zero"),
        (
            {"walltime": "0:01:00", "warning_seconds": 60},
            "must be shorter than the walltime",
        ),
        ({"memory": "lots"}, "memory must be a whole amount"),
        ({"memory": "16GB"}, "memory must be a whole amount"),
        ({"memory": 16}, "memory must be a string"),
        ({"walltime": 3600}, "walltime must be a string"),
        ({"modules": [None]}, "modules must be a list of strings"),
        ({"job_name": "a\nb"}, "job_name must be on one line"),
        ({"job_name": ""}, "job_name must be a non-empty string"),
        ({"output": "out\\n.log"}, "output cannot hold a backslash"),
        ({"queue": "gpu\r"}, "queue must be on one line"),
        (
            {"venv": "/a\n/b"},
            "venv must be a non-empty name or path on one line",
        ),
        ({"venv": "/a", "conda": "b"}, "either a venv or a conda environment"),
        (
            {"modules": ["python\nrm -rf /"]},
            "a module line must name modules on one line",
        ),
        ({"modules": ["  "]}, "a module line must name modules on one line"),
        ({"env": ["1X=2"]}, "env entries must look like NAME=value"),
        ({"env": ["X"]}, "env entries must look like NAME=value"),
        ({"env": ["PATH;rm=1"]}, "env entries must look like NAME=value"),
        ({"requeue": "yes"}, "requeue must be True or False"),
        (
            {"scheduler": "pbs", "job_name": "two words"},
            "PBS directives cannot be quoted",
        ),
        (
            {"scheduler": "pbs", "output": "$(touch pwned)"},
            "PBS directives cannot be quoted",
        ),
        ({"scheduler": "pbs", "warning_seconds": 60}, "give a walltime"),
        (
            {"scheduler": "pbs", "torchrun": True, "nodes": 2},
            "rendered for Slurm only",
        ),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(changes, message):
    values = {"command": ["python", "x.py"], **changes}
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace("$", r"\$")
    ):
        JobSpec(**values)


def test_memory_means_the_same_to_both_schedulers():
    for scheduler, line in (
        ("slurm", "#SBATCH --mem=512M"),
        ("pbs", "#PBS -l mem=512mb"),
    ):
        assert line in render_jobscript(
            JobSpec(["x"], scheduler=scheduler, memory="512")
        )
    assert cluster.memory_amount("2t") == ("2", "T")


def test_walltime_in_seconds_and_back():
    assert cluster.parse_walltime("1-02:03:04") == 93784
    assert cluster.format_walltime(93784) == "26:03:04"
    assert JobSpec(["x"], walltime="0:30:00").walltime_seconds == 1800


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("scheduler", ["slurm", "pbs"])
def test_every_rendered_script_is_valid_bash(scheduler):
    pbs = scheduler == "pbs"
    specs = [
        JobSpec(["python", "x.py"], scheduler=scheduler),
        JobSpec(
            ["python", "x.py", *HOSTILE],
            scheduler=scheduler,
            walltime="1:00:00",
            warning_seconds=60,
            requeue=True,
            venv="/opt/my env",
            modules=["python/3.11 cuda/12"],
            env=["A=$(touch pwned)"],
        ),
        JobSpec(
            ["python", "-m", "x"],
            scheduler=scheduler,
            nodes=1 if pbs else 3,
            torchrun=True,
        ),
        JobSpec(
            ["x"],
            scheduler=scheduler,
            conda="my env",
            requeue=True,
            torchrun=True,
        ),
    ]
    for spec in specs:
        checked = subprocess.run(
            [BASH, "-n"],
            input=render_jobscript(spec),
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_hostile_values_in_a_slurm_script_do_nothing_and_arrive_verbatim(
    tmp_path,
):
    venv = tmp_path / "my $(touch pwned) `touch pwned`; env's"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text(
        'export ACTIVATED="$(basename "$VIRTUAL_ENV")"\n'
    )
    hostile_name = "it's a $(touch pwned) `touch pwned`; touch pwned job"
    spec = JobSpec(
        [*ECHO_ARGV, *HOSTILE],
        job_name=hostile_name,
        output="out $(touch pwned).log",
        error="err `touch pwned`.log",
        workdir=str(tmp_path / "dir with 'quotes'"),
        venv=str(venv),
        env=["GREETING=hello $(touch pwned) `touch pwned`; it's"],
        walltime="0:10:00",
        warning_seconds=60,
        requeue=True,
    )
    script = render_jobscript(spec)
    done = run_script(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "argv.json").read_text()) == HOSTILE
    assert list(tmp_path.rglob("pwned")) == []
    assert f"--job-name={hostile_name}" in _sbatch_directive_values(script)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_environment_values_reach_the_program_verbatim(tmp_path):
    venv = tmp_path / "env $(touch pwned)"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text("export ACTIVATED=yes\n")
    greeting = 'hello $(touch pwned) `touch pwned`; it\'s "quoted"'
    show_env = [
        sys.executable,
        "-c",
        "import json, os; json.dump([os.environ['GREETING'], os.environ['ACTIVATED']],"
        " open('env.json', 'w'))",
    ]
    spec = JobSpec(
        show_env, scheduler="pbs", venv=str(venv), env=[f"GREETING={greeting}"]
    )
    done = run_script(render_jobscript(spec), tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "env.json").read_text()) == [greeting, "yes"]
    assert list(tmp_path.rglob("pwned")) == []


def _sbatch_directive_values(script: str) -> list[str]:
    """Return #SBATCH options as sbatch reads them: shell-like words with quotes removed."""
    return [shlex.split(value)[0] for value in directives(script, "#SBATCH")]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_module_lines_load_each_module_as_one_word(tmp_path):
    # A stand-in for the cluster's `module` command, recording the words it was given.
    record = "import json, sys; print(json.dumps(sys.argv[1:]))"
    script = render_jobscript(
        JobSpec(["true"], modules=["python/3.11 cuda/12.1", "$(touch pwned)"])
    ).replace(
        "#!/bin/bash\n",
        f'#!/bin/bash\nmodule() {{ {sys.executable} -c {shlex.quote(record)} "$@"; }}\n',
    )
    done = run_script(script, tmp_path)
    assert done.returncode == 0, done.stderr
    loads = [json.loads(line) for line in done.stdout.splitlines()]
    # Whitespace separates module names; nothing else in a line is read by the shell.
    assert loads == [
        ["load", "python/3.11", "cuda/12.1"],
        ["load", "$(touch", "pwned)"],
    ]
    assert list(tmp_path.rglob("pwned")) == []


def _countsteps(out: Path, steps: int) -> list[str]:
    """The stand-in trainer's command: ``steps`` steps of 0.1 s, checkpointed in ``out``."""
    return [
        sys.executable,
        str(COUNTSTEPS),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--step-seconds",
        "0.1",
    ]


def _fake_program(folder: Path, name: str) -> Path:
    """Write a program ``name`` into ``folder`` that records its arguments in ``name``.log."""
    path = folder / name
    path.write_text(
        f'#!/bin/bash\nprintf "%s\\n" "$@" > "{folder / name}.log"\n'
    )
    path.chmod(0o755)
    return folder / f"{name}.log"


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_warning_reaches_the_program_which_checkpoints_and_the_script_requeues(
    tmp_path,
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Outside Slurm, a recorder takes scontrol's place; tests/cluster/ runs the real one.
    requeue_log = _fake_program(bin_dir, "scontrol")
    out = tmp_path / "run"
    spec = JobSpec(
        _countsteps(out, steps=40),
        walltime="0:10:00",
        warning_seconds=60,
        requeue=True,
    )
    (tmp_path / "job.sh").write_text(render_jobscript(spec))
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_JOB_ID": "4242",
    }
    job = subprocess.Popen(
        [BASH, "job.sh"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    _wait_for(lambda: (out / "starts.txt").exists())
    job.send_signal(signal.SIGUSR1)
    assert job.wait(timeout=30) == cluster.EXIT_REQUEUE
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    assert 0 < checkpoint["step"] < 40
    assert not (out / "result.json").exists()
    assert requeue_log.read_text().split() == ["requeue", "4242"]

    # The requeued job runs the same script again: it resumes and finishes.
    again = subprocess.run([BASH, "job.sh"], cwd=tmp_path, env=env, timeout=60)
    assert again.returncode == 0
    assert json.loads((out / "result.json").read_text()) == {
        "step": 40,
        "total": sum(i * i for i in range(40)),
    }


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_pbs_script_times_its_own_warning_and_resubmits_itself(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    qsub_log = _fake_program(bin_dir, "qsub")
    out = tmp_path / "run"
    spec = JobSpec(
        _countsteps(out, steps=100),
        scheduler="pbs",
        walltime="0:00:03",
        warning_seconds=1,
        requeue=True,
        output="job.out",
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = run_script(render_jobscript(spec), tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "checkpointed: submitting the job again" in done.stderr
    assert 0 < json.loads((out / "checkpoint.json").read_text())["step"] < 100
    assert qsub_log.read_text().split() == [
        "-o",
        "job.out",
        str(tmp_path / "job.sh"),
    ]


# A program that writes started.txt, and warned.txt when the warning comes; then it exits.
WAITS_FOR_WARNING = [
    sys.executable,
    "-c",
    "import pathlib, signal, sys, time\n"
    "def warned(number, frame):\n"
    "    pathlib.Path('warned.txt').write_text(signal.Signals(number).name)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGUSR1, warned)\n"
    "pathlib.Path('started.txt').touch()\n"
    "time.sleep(60)\n",
]


def _live_processes(session: int) -> list[str]:
    """Return ``pid command`` of each process in ``session`` that is still running."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # The process ended while we looked.
            continue
        # The command sits in parentheses and may hold spaces; the fields after it are plain.
        state, _ppid, _pgrp, sid = text[text.rindex(")") + 2 :].split()[:4]
        if int(sid) == session and state not in "ZX":
            found.append(
                f"{stat.parent.name} {text[text.index('(') + 1 : text.rindex(')')]}"
            )
    return found


def _run_pbs_job(
    spec: JobSpec, folder: Path, term_after_start: bool = False
) -> int:
    """Run ``spec``'s PBS script with bash in a session of its own; return that session's id.

    With ``term_after_start`` the script gets SIGTERM once the program has written started.txt.
    """
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    _fake_program(bin_dir, "qsub")
    (folder / "job.sh").write_text(render_jobscript(spec))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    # A new session holds every process the script starts, whatever process group it is in.
    job = subprocess.Popen(
        [BASH, "job.sh"], cwd=folder, env=env, start_new_session=True
    )
    if term_after_start:
        _wait_for(lambda: (folder / "started.txt").exists())
        job.send_signal(signal.SIGTERM)
    job.wait(timeout=60)
    return job.pid


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs Linux's /proc"
)
@pytest.mark.parametrize(
    "case",
    [
        "the program ends",
        "the timer warns the program",
        "the job resubmits",
        "the job is stopped",
    ],
)
def test_no_process_of_the_pbs_timer_outlives_the_script(tmp_path, case):
    # A minute's walltime and a 50 s warning: the timer sleeps 10 s, far longer than the
    # program, in every case but the one where it is meant to fire (after 2 s).
    timing = {"walltime": "0:01:00", "warning_seconds": 50}
    if case == "the program ends":
        spec = JobSpec(["true"], scheduler="pbs", **timing)
    elif case == "the timer warns the program":
        spec = JobSpec(
            WAITS_FOR_WARNING,
            scheduler="pbs",
            walltime="0:00:03",
            warning_seconds=1,
        )
    elif case == "the job resubmits":
        spec = JobSpec(
            ["sh", "-c", "exit 75"], scheduler="pbs", requeue=True, **timing
        )
    else:
        spec = JobSpec(WAITS_FOR_WARNING, scheduler="pbs", **timing)
    session = _run_pbs_job(
        spec, tmp_path, term_after_start=case == "the job is stopped"
    )
    if case == "the timer warns the program":
        assert (tmp_path / "warned.txt").read_text() == "SIGUSR1"
    if case == "the job resubmits":
        assert (tmp_path / "bin" / "qsub.log").read_text().split() == ["job.sh"]
    if case == "the job is stopped":
        assert not (tmp_path / "warned.txt").exists()
    # A killed sleep is gone within moments; an orphaned one would sleep on for seconds.
    deadline = time.monotonic() + 3
    while _live_processes(session) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _live_processes(session) == []


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_course_jobs_run_downloaded_scripts_in_their_folder():
    jobs = cluster.course_jobs(
        "/work/me/course dir",
        venv="/work/me/.venv",
        modules=["python/3.11"],
    )
    assert set(jobs) == {
        "cnn",
        "cnn_pbs",
        "walltime_safe",
        "walltime_safe_pbs",
        "ddp",
        "notebook",
    }
    for name, spec in jobs.items():
        assert spec.workdir == "/work/me/course dir", name
        script = render_jobscript(spec)
        assert "source /work/me/.venv/bin/activate || exit 1" in script
        assert "module load python/3.11 || exit 1" in script
    cnn, pbs = (render_jobscript(jobs[n]) for n in ("cnn", "cnn_pbs"))
    # Short enough to type: the scripts the chapter shows for plot_cnn.py.
    assert len(cnn.splitlines()) <= 15 and len(pbs.splitlines()) <= 15
    assert "#SBATCH --gpus=1" in cnn and cnn.endswith("\npython plot_cnn.py\n")
    assert "#PBS -l select=1:ncpus=4:ngpus=1" in pbs
    assert "#PBS -N cnn.tf.gpu" in pbs and "#PBS -q workq" in pbs
    assert "cd -- '/work/me/course dir' || exit 1" in pbs
    safe = jobs["walltime_safe"]
    assert safe.command == ("python", cluster.CLUSTER_EXAMPLE)
    assert 0 < safe.warning_seconds < safe.walltime_seconds and safe.requeue
    assert "#SBATCH --chdir='/work/me/course dir'" in render_jobscript(safe)
    ddp = jobs["ddp"]
    assert ddp.torchrun and ddp.workers_per_node == 2
    assert (
        "torchrun --standalone --nproc-per-node=2 plot_training_on_a_cluster.py"
        in render_jobscript(ddp)
    )


def test_course_jobs_without_gpus_ask_for_none_and_run_two_cpu_processes():
    jobs = cluster.course_jobs("/tmp/w", gpus=0, env=["DLCOURSE_PROFILE=smoke"])
    for spec in jobs.values():
        script = render_jobscript(spec)
        assert "gpus" not in script
        assert "export DLCOURSE_PROFILE=smoke" in script
        assert spec.venv is None and "activate" not in script
    assert jobs["ddp"].workers_per_node == 2


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_a_pbs_job_runs_in_a_workdir_whose_name_no_directive_could_carry(
    tmp_path,
):
    workdir = tmp_path / "course dir $(touch pwned) it's"
    workdir.mkdir()
    spec = JobSpec([*ECHO_ARGV, "x"], scheduler="pbs", workdir=str(workdir))
    done = run_script(render_jobscript(spec), tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((workdir / "argv.json").read_text()) == ["x"]
    assert list(tmp_path.rglob("pwned")) == []
    with pytest.raises(ValueError, match="workdir must be on one line"):
        JobSpec(["x"], scheduler="pbs", workdir="a\nb")


def test_long_shell_lines_fold_at_spaces_outside_quotes():
    words = ["printf", "%s\n", *(f"word{i}" for i in range(12))]
    words += ["two words", "it's quoted", "$HOME/x y"]
    line = " ".join(shlex.quote(w) for w in words)
    assert len(line) > 80
    folded = cluster.fold_command(line)
    assert all(len(part) <= 80 for part in folded.splitlines())
    assert len(folded.splitlines()) > 1
    # bash reads the folded line as the same words as the long one.
    run = [
        subprocess.run(
            ["bash", "-c", text], capture_output=True, text=True, check=True
        ).stdout
        for text in (line, folded)
    ]
    assert run[0] == run[1] == "".join(f"{w}\n" for w in words[2:])


def test_comments_and_short_lines_are_not_folded():
    comment = "# " + "x " * 50
    assert cluster.fold_command(comment) == comment
    assert cluster.fold_command("echo hi") == "echo hi"
