"""Batch scripts for Slurm and PBS clusters, safe to give any command, name or path.

``render_jobscript(JobSpec(...))`` returns a bash script whose directives ask the scheduler for
nodes, CPUs, GPUs, memory and time, which sets up the environment (modules, a venv or a conda
environment) and then runs one command, such as ``python plot_cnn.py``. Every value taken from
the user is shell-quoted or refused, so a job name like ``a $(rm -rf ~) b`` stays a job name.

Walltime-safe jobs (``warning_seconds`` and ``requeue``) follow one contract with the program
they run: shortly before the time limit the program receives SIGUSR1 (SIGTERM under
``torchrun``, which passes it on to its workers), writes a checkpoint and exits with
:data:`EXIT_REQUEUE`; the script then puts the job back in the queue, and the next run resumes
from the checkpoint. Slurm sends the warning itself (``--signal``) and the job requeues with
``scontrol requeue``. PBS has no such signal: the script sets its own timer from the walltime
and submits itself again with ``qsub``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

# EX_TEMPFAIL of sysexits.h, "try again later": checkpointed, run me again.
EXIT_REQUEUE = 75
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
    """Return the #SBATCH lines of the job's request; counts of 1 are Slurm's defaults."""
    tasks_per_node = 1 if spec.torchrun else spec.tasks_per_node
    cpus_per_task = spec.cpus_per_task * (
        spec.workers_per_node if spec.torchrun else 1
    )
    options: list[tuple[str, object]] = [
        ("job-name", spec.job_name),
        ("nodes", spec.nodes if spec.nodes > 1 else None),
        ("ntasks-per-node", tasks_per_node if tasks_per_node > 1 else None),
        ("cpus-per-task", cpus_per_task if cpus_per_task > 1 else None),
        ("gpus" if spec.nodes == 1 else "gpus-per-node", spec.gpus_per_node),
        ("mem", spec.memory and "".join(memory_amount(spec.memory))),
        (
            "time",
            spec.walltime_seconds and format_walltime(spec.walltime_seconds),
        ),
        ("partition", spec.queue),
        ("account", spec.account),
        ("output", spec.output),
        ("error", spec.error),
        ("chdir", spec.workdir),
    ]
    if spec.warning_seconds:
        # B: signals the batch shell only; its trap passes the warning on to the program.
        options.append(("signal", f"B:{WARNING_SIGNAL}@{spec.warning_seconds}"))
    lines = [
        f"#SBATCH --{key}={shlex.quote(str(value))}"
        for key, value in options
        if value
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
    # PBS Pro's form (OpenPBS, and Slurm's qsub wrapper); Torque wrote nodes=N:ppn=C:gpus=G.
    select = f"select={spec.nodes}:ncpus={cores}"
    if spec.gpus_per_node:
        select += f":ngpus={spec.gpus_per_node}"
    lines = [f"#PBS -N {spec.job_name}", f"#PBS -l {select}"]
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
        # Started by the batch shell itself, torchrun gets the shell's relayed warning.
        return [], f"torchrun --standalone {workers} {program}"
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
    relayed = "TERM" if spec.torchrun else WARNING_SIGNAL
    lines = [
        "",
        f"# The program checkpoints on SIG{WARNING_SIGNAL} or SIGTERM and exits with "
        f"{EXIT_REQUEUE} to be resumed.",
        "child=",
        "warned=0",
        "relay() {",
        "    warned=1",
        '    if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi',
        "}",
        # torchrun passes SIGTERM on to its workers, but dies of SIGUSR1 itself.
        f"trap 'relay {relayed}' {WARNING_SIGNAL}",
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
    resume = f'[ "$status" -eq {EXIT_REQUEUE} ]'
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

CLUSTER_EXAMPLE = "plot_training_on_a_cluster.py"


def course_jobs(
    workdir: str,
    venv: str | None = None,
    *,
    modules: Sequence[str] = (),
    gpus: int = 1,
    env: Sequence[str] = (),
) -> dict[str, JobSpec]:
    """Return the batch jobs the book shows, by name: downloaded gallery scripts, run in
    ``workdir`` with ``venv`` activated after ``modules`` are loaded, each on ``gpus`` GPUs.

    ``cnn`` and ``cnn_pbs`` run the Keras example ``plot_cnn.py``, as a reader downloads it,
    and ``notebook`` a chapter's notebook; ``walltime_safe``, ``walltime_safe_pbs`` and ``ddp``
    run the PyTorch example that checkpoints, stops on a warning and trains in several
    processes under ``torchrun`` (two per GPU asked for, or two CPU processes without GPUs).
    """
    common = {
        "workdir": workdir,
        "venv": venv,
        "modules": tuple(modules),
        "env": tuple(env),
        "gpus_per_node": gpus,
        "cpus_per_task": 4,
    }
    example = ("python", CLUSTER_EXAMPLE)
    safe = {"warning_seconds": 120, "requeue": True}
    return {
        "cnn": JobSpec(
            ("python", "plot_cnn.py"),
            job_name="cnn",
            walltime="1:00:00",
            output="cnn.%j.log",
            **common,
        ),
        # The 2018 course's job name and queue.
        "cnn_pbs": JobSpec(
            ("python", "plot_cnn.py"),
            scheduler="pbs",
            job_name="cnn.tf.gpu",
            walltime="1:00:00",
            queue="workq",
            **common,
        ),
        "walltime_safe": JobSpec(
            example,
            job_name="walltime-safe",
            walltime="0:10:00",
            output="walltime-safe.%j.log",
            **safe,
            **common,
        ),
        # PBS sends no warning: the script times its own and submits itself again.
        "walltime_safe_pbs": JobSpec(
            example,
            scheduler="pbs",
            job_name="walltime-safe",
            walltime="0:10:00",
            queue="workq",
            **safe,
            **common,
        ),
        # Data parallel: one process per GPU (per CPU share on a CPU-only job).
        "ddp": JobSpec(
            example,
            job_name="ddp",
            walltime="0:10:00",
            output="ddp.%j.log",
            tasks_per_node=2,
            torchrun=True,
            **{**common, "gpus_per_node": 2 * gpus},
        ),
        # A chapter's notebook, run top to bottom into a copy with its outputs.
        "notebook": JobSpec(
            (
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "convolutional_networks.ipynb",
            ),
            job_name="notebook",
            walltime="1:00:00",
            output="notebook.%j.log",
            **common,
        ),
    }
