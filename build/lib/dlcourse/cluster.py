"""Batch scripts for Slurm and PBS clusters, safe to give any command, name or path.

``render_jobscript(JobSpec(...))`` returns a bash script whose directives ask the scheduler for
nodes, CPUs, GPUs, memory and time, which sets up the environment (modules, a venv or a conda
environment) and then runs one command. Every value taken from the user is shell-quoted or
refused, so a job name like ``a $(rm -rf ~) b`` stays a job name.

Walltime-safe jobs (``warning_seconds`` and ``requeue``) follow one contract with the program
they run: shortly before the time limit the program receives SIGUSR1, writes a checkpoint and
exits with code 75 (:data:`dlcourse.signals.EXIT_RESUMABLE`); the script then puts the job back
in the queue, and the next run resumes from the checkpoint. Slurm sends the warning itself
(``--signal``) and the job requeues with ``scontrol requeue``. PBS has no such signal: the script
sets its own timer from the walltime and, on code 75, submits itself again with ``qsub``.

Command line::

    dlcourse jobscript --time 1:00:00 --warning-seconds 120 --requeue -- dlcourse train softmax
    dlcourse jobscript --gpus-per-node 4 --nodes 2 --torchrun -- python train.py
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields

from dlcourse.signals import EXIT_RESUMABLE

SCHEDULERS = ("slurm", "pbs")
WARNING_SIGNAL = "USR1"
RENDEZVOUS_PORT = 29500
SUBMIT_HINTS = {
    "slurm": "# Submit with: sbatch THIS_FILE",
    # Slurm's qsub wrapper overrides the script's -o and -e with its own defaults.
    "pbs": "# Submit with: qsub THIS_FILE\n"
    "# (under Slurm's qsub wrapper: qsub -o OUT -e ERR THIS_FILE)",
}

WALLTIME = re.compile(
    r"(?:(?P<days>\d+)-)?(?P<hours>\d+):(?P<minutes>[0-5]\d):(?P<seconds>[0-5]\d)"
)
MEMORY = re.compile(r"(?P<amount>[1-9]\d*)(?P<unit>[KMGT]?)", re.IGNORECASE)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PBS directives have no quoting: their values must be plain words.
PBS_WORD = re.compile(r"[A-Za-z0-9_.+/-]+")
PYTHONS = re.compile(r"python(3(\.\d+)?)?")
# The spec's fields that hold text when they are given.
OPTIONAL_TEXT = (
    "job_name",
    "memory",
    "walltime",
    "queue",
    "account",
    "output",
    "error",
    "workdir",
    "venv",
    "conda",
)


@dataclass(frozen=True)
class JobSpec:
    """What a batch job asks the scheduler for, how it sets up its environment, what it runs.

    ``command`` is a list of argv words, run as given (no shell). ``queue`` is Slurm's partition
    or PBS's queue; ``memory`` is per node (``16G``); ``walltime`` is ``[D-]H:MM:SS``. With
    ``torchrun``, each node runs one ``torchrun`` that starts ``gpus_per_node`` workers (or
    ``tasks_per_node`` on a CPU-only job); a leading ``python`` in the command is replaced by it.
    """

    command: tuple[str, ...]
    scheduler: str = "slurm"
    job_name: str = "dlcourse"
    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    gpus_per_node: int = 0
    memory: str | None = None
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    output: str | None = None
    error: str | None = None
    workdir: str | None = None
    venv: str | None = None
    conda: str | None = None
    modules: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    warning_seconds: int = 0
    requeue: bool = False
    torchrun: bool = False

    def __post_init__(self) -> None:
        # Lists are welcome as input; stored as tuples the spec stays hashable and immutable.
        for name in ("command", "modules", "env"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(
                    f"{name} must be a list of strings, not one string: {value!r}"
                )
            object.__setattr__(self, name, tuple(value))
        validate(self)

    @property
    def walltime_seconds(self) -> int | None:
        """Return the walltime in seconds, or None when the job takes the queue's default."""
        return None if self.walltime is None else parse_walltime(self.walltime)

    @property
    def workers_per_node(self) -> int:
        """Return how many processes torchrun starts on each node."""
        return self.gpus_per_node or self.tasks_per_node

    @property
    def walltime_safe(self) -> bool:
        """Return whether the script forwards signals and resumes a checkpointed run."""
        return self.warning_seconds > 0 or self.requeue


def parse_walltime(text: str) -> int:
    """Return the seconds in a ``[D-]H:MM:SS`` walltime; raise ValueError for any other form."""
    match = WALLTIME.fullmatch(text)
    if match is None:
        raise ValueError(
            f"walltime must look like H:MM:SS or D-HH:MM:SS, got {text!r}"
        )
    days, hours, minutes, seconds = (
        int(match[k] or 0) for k in match.groupdict()
    )
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total == 0:
        raise ValueError("walltime must be longer than zero")
    return total


def format_walltime(seconds: int) -> str:
    """Return seconds as ``H:MM:SS``, a form both Slurm and PBS read."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def memory_amount(text: str) -> tuple[str, str]:
    """Return a memory size's amount and unit (K, M, G or T); a bare number means megabytes."""
    match = MEMORY.fullmatch(text)
    if match is None:
        raise ValueError(
            f"memory must be a whole amount with K, M, G or T, like 16G; got {text!r}"
        )
    return match["amount"], (match["unit"] or "M").upper()


def validate(spec: JobSpec) -> None:
    """Raise ValueError naming the first value in ``spec`` a safe script cannot carry."""
    if spec.scheduler not in SCHEDULERS:
        raise ValueError(
            f"scheduler must be one of {', '.join(SCHEDULERS)}, got {spec.scheduler!r}"
        )
    if not spec.command or not all(isinstance(w, str) for w in spec.command):
        raise ValueError("command must be a non-empty list of strings")
    for name in OPTIONAL_TEXT:
        value = getattr(spec, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
    for name in ("modules", "env"):
        if not all(isinstance(item, str) for item in getattr(spec, name)):
            raise ValueError(f"{name} must be a list of strings")
    if any("\0" in word for word in spec.command):
        raise ValueError("command words cannot hold a NUL character")
    for name, least in (
        ("nodes", 1),
        ("tasks_per_node", 1),
        ("cpus_per_task", 1),
    ):
        _check_count(name, getattr(spec, name), least)
    _check_count("gpus_per_node", spec.gpus_per_node, 0)
    _check_count("warning_seconds", spec.warning_seconds, 0)
    for name in ("requeue", "torchrun"):
        if not isinstance(getattr(spec, name), bool):
            raise ValueError(f"{name} must be True or False")
    directive_values = (
        "job_name",
        "queue",
        "account",
        "output",
        "error",
        "workdir",
    )
    for name in directive_values:
        value = getattr(spec, name)
        if value is None:
            continue
        if not value:
            raise ValueError(f"{name} must be a non-empty string")
        if name == "workdir" and spec.scheduler == "pbs":
            # No PBS directive carries it: the script's quoted cd takes any one-line path.
            if _has_control(value):
                raise ValueError(f"workdir must be on one line: {value!r}")
            continue
        _check_directive_value(name, value, spec.scheduler)
    if spec.memory is not None:
        memory_amount(spec.memory)
    limit = spec.walltime_seconds
    if (
        spec.warning_seconds
        and limit is not None
        and spec.warning_seconds >= limit
    ):
        raise ValueError(
            f"warning_seconds ({spec.warning_seconds}) must be shorter than the walltime "
            f"({spec.walltime}), or the warning comes before the job starts"
        )
    if spec.scheduler == "pbs" and spec.warning_seconds and limit is None:
        raise ValueError(
            "a PBS job times its own warning from the walltime: give a walltime"
        )
    if spec.venv is not None and spec.conda is not None:
        raise ValueError("give either a venv or a conda environment, not both")
    for name in ("venv", "conda"):
        value = getattr(spec, name)
        if value is not None and (not value or _has_control(value)):
            raise ValueError(
                f"{name} must be a non-empty name or path on one line: {value!r}"
            )
    for line in spec.modules:
        if not line.split() or _has_control(line.strip()):
            raise ValueError(
                f"a module line must name modules on one line: {line!r}"
            )
    for assignment in spec.env:
        name, equals, _ = assignment.partition("=")
        if not equals or ENV_NAME.fullmatch(name) is None:
            raise ValueError(
                f"env entries must look like NAME=value, got {assignment!r}"
            )
        if "\0" in assignment:
            raise ValueError(f"env value of {name} cannot hold a NUL character")
    if spec.torchrun and spec.scheduler == "pbs" and spec.nodes > 1:
        raise ValueError(
            "torchrun across several nodes is rendered for Slurm only; PBS: nodes=1"
        )


def _check_count(name: str, value: object, least: int) -> None:
    """Raise ValueError unless ``value`` is a whole number of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")


def _has_control(text: str) -> bool:
    """Return whether text holds a newline, NUL or other control character."""
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def _check_directive_value(name: str, value: str, scheduler: str) -> None:
    """Raise ValueError unless the value survives the scheduler's directive parser intact."""
    if _has_control(value):
        raise ValueError(
            f"{name} must be on one line without control characters: {value!r}"
        )
    # Slurm's #SBATCH parser honours quotes but reads a backslash as an escape, even in quotes.
    if "\\" in value:
        raise ValueError(f"{name} cannot hold a backslash: {value!r}")
    if scheduler == "pbs" and PBS_WORD.fullmatch(value) is None:
        raise ValueError(
            f"{name} in a PBS script may hold only letters, digits and . _ + - /, "
            f"as PBS directives cannot be quoted: {value!r}"
        )


def quote_words(words: Sequence[str]) -> str:
    """Return the words as one shell command line that passes each of them verbatim."""
    return " ".join(shlex.quote(word) for word in words)


def render_jobscript(spec: JobSpec) -> str:
    """Return the Slurm or PBS batch script that runs ``spec.command``."""
    lines = ["#!/bin/bash", SUBMIT_HINTS[spec.scheduler]]
    lines += (
        _slurm_directives(spec)
        if spec.scheduler == "slurm"
        else _pbs_directives(spec)
    )
    lines += [""]
    if spec.scheduler == "pbs":
        if spec.workdir is None:
            lines += [
                "# PBS starts jobs in $HOME; run where the job was submitted."
            ]
            lines += ['cd "${PBS_O_WORKDIR:-$PWD}" || exit 1']
        else:
            lines += [f"cd -- {shlex.quote(spec.workdir)} || exit 1"]
    lines += _setup_lines(spec)
    prelude, launch = _launch_lines(spec)
    lines += prelude
    lines += (
        _walltime_safe_lines(spec, launch) if spec.walltime_safe else [launch]
    )
    return "\n".join(fold_command(line) for line in lines) + "\n"


def fold_command(line: str, width: int = 80) -> str:
    """Return a shell line longer than ``width`` split over continued lines.

    It breaks only at spaces outside quotes, so every word stays whole; the
    lines after the first are indented by four spaces. Comments stay as they are.
    """
    if len(line) <= width or line.lstrip().startswith("#"):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    words, word, quote = [], "", None
    for char in line.lstrip():
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == " ":
            words.append(word)
            word = ""
            continue
        word += char
    words.append(word)
    folded, current = [], indent + words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) + 2 > width and current.strip():
            folded.append(current + " \\")
            current = indent + "    " + word
        else:
            current += " " + word
    return "\n".join([*folded, current])


def _slurm_directives(spec: JobSpec) -> list[str]:
    """Return the #SBATCH lines of the job's request."""
    tasks_per_node = 1 if spec.torchrun else spec.tasks_per_node
    cpus_per_task = spec.cpus_per_task * (
        spec.workers_per_node if spec.torchrun else 1
    )
    options: list[tuple[str, object]] = [
        ("job-name", spec.job_name),
        ("nodes", spec.nodes),
        ("ntasks-per-node", tasks_per_node),
        ("cpus-per-task", cpus_per_task),
    ]
    if spec.gpus_per_node:
        options.append(("gpus-per-node", spec.gpus_per_node))
    optional = {
        "mem": spec.memory and "".join(memory_amount(spec.memory)),
        "time": spec.walltime_seconds
        and format_walltime(spec.walltime_seconds),
        "partition": spec.queue,
        "account": spec.account,
        "output": spec.output,
        "error": spec.error,
        "chdir": spec.workdir,
    }
    options += [(key, value) for key, value in optional.items() if value]
    if spec.warning_seconds:
        # B: signals the batch shell only; its trap passes the warning on to the program.
        options.append(("signal", f"B:{WARNING_SIGNAL}@{spec.warning_seconds}"))
    lines = [
        f"#SBATCH --{key}={shlex.quote(str(value))}" for key, value in options
    ]
    if spec.requeue:
        lines.append("#SBATCH --requeue")
        # A requeued job reopens its output files: append, or the first run's log is lost.
        lines.append("#SBATCH --open-mode=append")
    return lines


def _pbs_directives(spec: JobSpec) -> list[str]:
    """Return the #PBS lines of the job's request (values are plain words, checked above)."""
    cores = spec.tasks_per_node * spec.cpus_per_task
    if spec.torchrun:
        cores = spec.workers_per_node * spec.cpus_per_task
    nodes = f"nodes={spec.nodes}:ppn={cores}"
    if spec.gpus_per_node:
        nodes += f":gpus={spec.gpus_per_node}"
    lines = [f"#PBS -N {spec.job_name}", f"#PBS -l {nodes}"]
    if spec.walltime_seconds:
        lines.append(
            f"#PBS -l walltime={format_walltime(spec.walltime_seconds)}"
        )
    if spec.memory:
        amount, unit = memory_amount(spec.memory)
        lines.append(f"#PBS -l mem={amount}{unit.lower()}b")
    for flag, value in (("-q", spec.queue), ("-A", spec.account)):
        if value:
            lines.append(f"#PBS {flag} {value}")
    for flag, value in (("-o", spec.output), ("-e", spec.error)):
        if value:
            lines.append(f"#PBS {flag} {value}")
    if spec.requeue:
        lines.append("#PBS -r y")
    return lines


def _setup_lines(spec: JobSpec) -> list[str]:
    """Return the lines that load modules, export variables and activate the environment."""
    lines: list[str] = []
    for line in spec.modules:
        lines.append(f"module load {quote_words(line.split())} || exit 1")
    for assignment in spec.env:
        name, _, value = assignment.partition("=")
        lines.append(f"export {name}={shlex.quote(value)}")
    if spec.venv is not None:
        activate = spec.venv.rstrip("/") + "/bin/activate"
        lines.append(f"source {shlex.quote(activate)} || exit 1")
    if spec.conda is not None:
        # conda's shell functions exist only after its hook has run in this shell.
        lines.append('eval "$(conda shell.bash hook)" || exit 1')
        lines.append(f"conda activate {shlex.quote(spec.conda)} || exit 1")
    return lines


def _launch_lines(spec: JobSpec) -> tuple[list[str], str]:
    """Return the lines to run before the launch, and the line that starts the program."""
    command = quote_words(spec.command)
    if not spec.torchrun:
        if spec.scheduler == "slurm" and spec.nodes * spec.tasks_per_node > 1:
            return [], f"srun {command}"
        return [], command
    head, *rest = spec.command
    # torchrun starts Python itself; any other program needs --no-python.
    if PYTHONS.fullmatch(head.rsplit("/", 1)[-1]):
        program = quote_words(rest)
    else:
        program = f"--no-python {command}"
    workers = f"--nproc-per-node={spec.workers_per_node}"
    if spec.nodes == 1:
        torchrun = f"torchrun --standalone {workers} {program}"
        return [], f"srun {torchrun}" if spec.scheduler == "slurm" else torchrun
    prelude = [
        "# Every node's torchrun meets the others at the job's first node.",
        'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    ]
    launch = (
        f'srun torchrun --nnodes="$SLURM_JOB_NUM_NODES" {workers} --rdzv-backend=c10d '
        f'--rdzv-endpoint="$head_node:{RENDEZVOUS_PORT}" --rdzv-id="$SLURM_JOB_ID" {program}'
    )
    return prelude, launch


def _walltime_safe_lines(spec: JobSpec, launch: str) -> list[str]:
    """Return the lines that run the program in the background, relay signals and requeue."""
    lines = [
        "",
        f"# The program checkpoints on SIG{WARNING_SIGNAL} or SIGTERM and exits with "
        f"{EXIT_RESUMABLE} to be resumed.",
        "child=",
        "warned=0",
        "relay() {",
        "    warned=1",
        '    if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi',
        "}",
        f"trap 'relay {WARNING_SIGNAL}' {WARNING_SIGNAL}",
        "trap 'relay TERM' TERM",
    ]
    if spec.scheduler == "pbs" and spec.warning_seconds:
        delay = (spec.walltime_seconds or 0) - spec.warning_seconds
        lines += [
            "# PBS sends no warning before the walltime: this timer does. Started",
            "# in a process group of its own (set -m), all of it is stopped when",
            "# the script exits.",
            "set -m",
            f"( sleep {delay} && kill -s {WARNING_SIGNAL} $$ ) &",
            "timer=$!",
            "set +m",
            "trap 'kill -- -\"$timer\" 2>/dev/null' EXIT",
        ]
    lines += [
        f"{launch} &",
        "child=$!",
        "# A trapped signal ends wait early; wait again until the program has exited.",
        'while kill -0 "$child" 2>/dev/null; do wait "$child"; done',
        'wait "$child"',
        "status=$?",
    ]
    resume = f'[ "$status" -eq {EXIT_RESUMABLE} ]'
    if spec.torchrun:
        # torchrun reports a worker that stopped on a signal as a failure, not as code 75.
        resume += ' || { [ "$warned" -eq 1 ] && [ "$status" -ne 0 ]; }'
    if spec.requeue:
        lines += [f"if {resume}; then"]
        if spec.scheduler == "slurm":
            lines += [
                '    echo "checkpointed: requeueing job $SLURM_JOB_ID" >&2',
                '    scontrol requeue "$SLURM_JOB_ID"',
            ]
        else:
            lines += _pbs_resubmit_lines(spec)
        lines += ["fi"]
    lines += ['exit "$status"']
    return lines


def _pbs_resubmit_lines(spec: JobSpec) -> list[str]:
    """Return the lines by which a PBS job submits its own script again."""
    flags = "".join(
        f" {flag} {value}"
        for flag, value in (("-o", spec.output), ("-e", spec.error))
        if value
    )
    return [
        "    # A running PBS job cannot requeue itself: submit this script again;",
        "    # $0 is its copy.",
        '    if [ ! -r "$0" ]; then',
        '        echo "cannot resubmit: the job script $0 is not readable" >&2',
        '        exit "$status"',
        "    fi",
        '    echo "checkpointed: submitting the job again" >&2',
        f'    qsub{flags} "$0" || exit 1',
        "    exit 0",
    ]


# ---------------------------------------------------------------- the course's jobs


def course_jobs(workdir: str, venv: str | None = None) -> dict[str, JobSpec]:
    """Return the course's example batch jobs by name, each run in ``workdir``.

    They train on the smoke profile, so each finishes in a minute or so: a first job that
    tells whether a cluster account, its environment and the data work before a long one.
    Logs and runs (``runs/...``) are written relative to ``workdir``; ``venv`` is activated.
    """
    # A dozen short epochs, each checkpointed: a run long enough to stop and resume.
    softmax = (
        "dlcourse",
        "train",
        "softmax",
        "--epochs",
        "12",
        "--out",
        "runs/softmax",
    )
    keras_env = ("DLCOURSE_PROFILE=smoke", "KERAS_BACKEND=tensorflow")
    common = {"workdir": workdir, "venv": venv, "walltime": "0:10:00"}
    return {
        "smoke_training": JobSpec(
            softmax,
            job_name="smoke-training",
            output="smoke-training.%j.log",
            env=keras_env,
            **common,
        ),
        "walltime_safe": JobSpec(
            softmax,
            job_name="walltime-safe",
            output="walltime-safe.%j.log",
            env=keras_env,
            warning_seconds=60,
            requeue=True,
            **common,
        ),
        # The 2018 course's job name and queue; PBS times its own warning and resubmits.
        "pbs_training": JobSpec(
            ("dlcourse", "train", "cnn", "--out", "runs/cnn"),
            scheduler="pbs",
            job_name="cnn.tf.gpu",
            queue="workq",
            output="cnn.tf.gpu.out",
            error="cnn.tf.gpu.err",
            env=keras_env,
            warning_seconds=60,
            requeue=True,
            **common,
        ),
        # Data parallel in PyTorch: two processes share each batch (gloo on CPUs, NCCL on GPUs).
        "torchrun": JobSpec(
            (
                "python",
                "-m",
                "dlcourse",
                "train",
                "mlp_relu",
                "--framework",
                "torch",
                "--out",
                "runs/mlp_relu-ddp",
            ),
            job_name="torchrun",
            output="torchrun.%j.log",
            tasks_per_node=2,
            torchrun=True,
            env=("DLCOURSE_PROFILE=smoke",),
            **common,
        ),
    }


# ---------------------------------------------------------------- command line


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``jobscript`` subcommand; its handler prints the script and returns 0."""
    parser = subparsers.add_parser(
        "jobscript",
        help="print a Slurm or PBS batch script that runs a command",
        description="Print a Slurm or PBS batch script that runs the command given after --.",
        epilog="example: dlcourse jobscript --time 1:00:00 --warning-seconds 120 --requeue "
        "-- dlcourse train softmax --out runs/softmax",
    )
    defaults = {f.name: f.default for f in fields(JobSpec)}
    add = parser.add_argument
    add(
        "--scheduler",
        choices=SCHEDULERS,
        default=defaults["scheduler"],
        help="default: slurm",
    )
    add("--job-name", "-J", metavar="NAME", default=defaults["job_name"])
    # Counts are read as text, so a bad one gets the same one-line error as any other value.
    for name, text in COUNT_OPTIONS.items():
        add(
            "--" + name.replace("_", "-"),
            metavar="N",
            default=str(defaults[name]),
            help=text,
        )
    add(
        "--mem", dest="memory", metavar="SIZE", help="memory per node, like 16G"
    )
    add(
        "--time",
        dest="walltime",
        metavar="TIME",
        help="walltime, H:MM:SS or D-HH:MM:SS",
    )
    add(
        "--partition",
        "--queue",
        dest="queue",
        metavar="NAME",
        help="partition or queue",
    )
    add("--account", "-A", metavar="NAME", help="allocation to charge")
    add(
        "--output",
        "-o",
        metavar="PATH",
        help="file for the job's standard output",
    )
    add(
        "--error",
        "-e",
        metavar="PATH",
        help="file for the job's standard error",
    )
    add("--workdir", metavar="PATH", help="folder the job runs in")
    add("--venv", metavar="PATH", help="virtual environment to activate")
    add("--conda", metavar="NAME", help="conda environment to activate")
    add(
        "--module",
        dest="modules",
        action="append",
        default=[],
        metavar="MODULES",
        help="modules to load; repeat for several lines",
    )
    add(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="variable to export",
    )
    add(
        "--requeue",
        action="store_true",
        help=f"requeue when the command exits {EXIT_RESUMABLE}",
    )
    add(
        "--torchrun",
        action="store_true",
        help="start the command with torchrun",
    )
    # Not dest="command": the main parser may keep the subcommand's name there.
    add(
        "job_command",
        nargs="*",
        metavar="COMMAND",
        help="the command to run, after --",
    )
    parser.set_defaults(handler=jobscript_command)
    return parser


COUNT_OPTIONS = {
    "nodes": "nodes (default: 1)",
    "tasks_per_node": "tasks on each node (default: 1)",
    "cpus_per_task": "CPU cores for each task (default: 1)",
    "gpus_per_node": "GPUs on each node (default: 0)",
    "warning_seconds": f"send SIG{WARNING_SIGNAL} this many seconds before the time limit",
}


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    """Return the JobSpec the parsed ``jobscript`` options describe."""
    values = {
        f.name: getattr(args, f.name)
        for f in fields(JobSpec)
        if f.name != "command"
    }
    for name in COUNT_OPTIONS:
        text = values[name]
        if not text.strip().lstrip("-").isdigit():
            raise ValueError(
                f"{name.replace('_', '-')} must be a whole number, got {text!r}"
            )
        values[name] = int(text)
    return JobSpec(args.job_command, **values)


def jobscript_command(args: argparse.Namespace) -> int:
    """Print the batch script for the parsed options; return 0, or 2 for a bad value."""
    try:
        script = render_jobscript(spec_from_args(args))
    except ValueError as err:
        print(f"dlcourse jobscript: error: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(script)
    return 0
