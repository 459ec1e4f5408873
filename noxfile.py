"""Sessions that lint, test and build the course book.

Plain ``nox`` runs what CI runs: ``lint``, ``tests``, ``cluster``, ``book``, ``pdf``,
``browser`` and ``downloads``. ``nox -s live`` serves the built book with its code runnable.
All sessions share one environment (``.nox/stack``) holding the framework stack,
so the ~3 GB of TensorFlow, PyTorch and Jupyter Book install once, not once per session.
``downloads`` also keeps a reader's environment (``.nox/downloads``): the library's wheel with
its frameworks, and what a page tells a reader to add, nothing else.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nox
import tomllib

nox.options.sessions = [
    "lint",
    "tests",
    "cluster",
    "book",
    "pdf",
    "browser",
    "downloads",
]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
STACK = ROOT / ".nox" / "stack"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
# The newest torch this book is verified with; below 2.14 a CPU-only 2.13 wheel keeps CI small.
TORCH = "torch>=2.4,<2.14"
EXTRAS = "all,book,test,lint"
# Debian's TeX Live, enough for Sphinx's LaTeX through xelatex, and the fonts the PDF is set in.
TEX_PACKAGES = (
    "texlive-xetex",
    "texlive-latex-recommended",
    "texlive-latex-extra",
    "texlive-fonts-recommended",
    "texlive-plain-generic",
    "lmodern",
    "latexmk",
    "fonts-freefont-otf",
    "fonts-dejavu-core",
)
PDF = "dlcourse.pdf"
# The chapters' kernels draw figures at twice the pixels of their size on the page
# (IPython's "retina" PNG, its width set to half), sharp on dense screens and in the PDF.
KERNEL_CONFIG = 'c.InlineBackend.figure_formats = {"retina"}\n'
# Debian's chromium, the browser the browser tests drive (Playwright's own download fails here).
CHROMIUM = Path("/usr/bin/chromium")
# A reader's environment for the downloads: the wheel with every framework (``[all]``), what the
# welcome page has a reader add to run a chapter, and what runs a notebook (in place of the
# JupyterLab a reader opens it in). Nothing else of the stack, nothing that points back at src/.
READER = ROOT / ".nox" / "downloads"
READER_EXTRA = "all"
CHAPTER_TOOLS = ("pandas",)
NOTEBOOK_TOOLS = ("nbclient", "ipykernel")
# What a reader's shell may hold besides PATH, HOME and the data: locale, temp dir, the GPUs,
# and the machine's OpenBLAS settings (wrong results or crashes without them on some CPUs).
READER_PASSES = (
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "CUDA_VISIBLE_DEVICES",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
# A chapter's MyST source as the notebook a reader downloads, where no build has made one.
MYST_TO_NOTEBOOK = (
    "import sys, nbformat; "
    "from myst_nb.core.read import read_myst_markdown_notebook as read; "
    "nbformat.write(read(open(sys.argv[1], encoding='utf-8').read()), sys.argv[2])"
)
# Run a notebook top to bottom in the current folder; a failing cell raises with its traceback.
RUN_NOTEBOOK = (
    "import sys, nbclient, nbformat; "
    "notebook = nbformat.read(sys.argv[1], as_version=4); "
    "nbclient.NotebookClient(notebook, timeout=900, kernel_name='python3').execute()"
)


def _stack_stamp() -> str:
    """Return a digest of everything that decides what the shared environment holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        project["dependencies"],
        project["optional-dependencies"],
        TORCH,
        EXTRAS,
        sys.version,
    ]
    return hashlib.sha256(
        json.dumps(wanted, sort_keys=True).encode()
    ).hexdigest()


def stack(session: nox.Session) -> dict[str, str]:
    """Create or reuse the shared environment; return the variables that activate it."""
    bindir = STACK / "bin"
    stamp_file = STACK / ".dlcourse-stamp"
    stamp = _stack_stamp()
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        session.log(f"Installing the framework stack into {STACK}")
        if not (bindir / "python").exists():
            session.run(sys.executable, "-m", "venv", str(STACK), external=True)
        pip = [str(bindir / "python"), "-m", "pip", "install", "--quiet"]
        session.run(*pip, "--upgrade", "pip", external=True)
        session.run(*pip, TORCH, "-e", f".[{EXTRAS}]", external=True)
        stamp_file.write_text(stamp)
    env = {
        "VIRTUAL_ENV": str(STACK),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        # TensorFlow's start-up chatter is noise in logs and on rendered pages.
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
    }
    return env


def book_settings(env: dict[str, str]) -> None:
    """Set what every build of the book runs with: the kernels' settings.

    The chapters' IPython kernels read ``KERNEL_CONFIG``.
    """
    ipython = BUILD / "ipython"
    config = ipython / "profile_default" / "ipython_kernel_config.py"
    if not config.is_file() or config.read_text() != KERNEL_CONFIG:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(KERNEL_CONFIG)
    env["IPYTHONDIR"] = str(ipython)


def jupyter_book(
    session: nox.Session, env: dict[str, str], builder: str, *options: str
) -> None:
    """Build the book with ``builder``, warnings as errors, every one of them reported."""
    run(
        session,
        env,
        "jupyter-book",
        "build",
        str(ROOT),
        "--path-output",
        str(ROOT),
        "--builder",
        builder,
        "--warningiserror",
        "--keep-going",
        *options,
    )


def run(
    session: nox.Session, env: dict[str, str], tool: str, *args: str
) -> None:
    """Run one of the shared environment's programs."""
    session.run(str(STACK / "bin" / tool), *args, env=env, external=True)


def apt_install(session: nox.Session, what: str, *packages: str) -> None:
    """Install Debian's ``packages`` with apt-get, or skip the session where that needs root."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.skip(
            f"{what} is not installed, and installing it needs root and apt-get"
        )
    apt = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "--quiet", env=apt, external=True)
    install = [
        "apt-get",
        "install",
        "--quiet",
        "--yes",
        "--no-install-recommends",
    ]
    session.run(*install, *packages, env=apt, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff."""
    env = stack(session)
    paths = [
        "src",
        "tests",
        "gallery",
        "book/_ext",
        "tools",
        "noxfile.py",
    ]
    run(session, env, "ruff", "check", *paths)
    run(session, env, "ruff", "format", "--check", *paths)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the library's test suite (everything but the checks of the built book)."""
    env = stack(session)
    args = session.posargs or [
        "-m",
        "not book and not cluster and not browser and not pdf",
    ]
    run(session, env, "pytest", *args)


@nox.session(venv_backend="none")
def cluster(session: nox.Session) -> None:
    """Submit generated batch scripts to a single-node Slurm cluster started on 127.0.0.1.

    Installs Debian's munge, Slurm and its PBS wrappers with apt-get where they are missing
    (root only), starts the daemons, runs ``pytest -m cluster`` and always stops the daemons.
    """
    # The test suite's Slurm helper knows the packages and how to start and stop the daemons.
    sys.path.insert(0, str(ROOT / "tests" / "cluster"))
    import localslurm

    if localslurm.missing_programs():
        apt_install(session, "Slurm", *localslurm.DEBIAN_PACKAGES)
    elif os.geteuid() != 0:
        session.skip("starting the Slurm daemons needs root")
    env = stack(session)
    # A short path: munged's socket lives in it, and socket paths are limited to ~100 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-slurm-"))
    slurm = localslurm.LocalSlurm(scratch)
    env.update(
        SLURM_CONF=str(slurm.conf), PATH=f"{env['PATH']}{os.pathsep}/usr/sbin"
    )
    try:
        session.log(f"Starting Slurm in {scratch}")
        run(session, env, "python", localslurm.__file__, "start", str(scratch))
        run(session, env, "pytest", "-m", "cluster", *session.posargs)
    finally:
        slurm.stop()
    shutil.rmtree(scratch, ignore_errors=True)


@nox.session(venv_backend="none")
def reproduce(session: nox.Session) -> None:
    """Run the gallery examples that reproduce the 2018 results and print the table.

    Each example runs as a reader would run it, alone in an empty folder, at full size; the
    table sets the course's values beside what the examples saved, with the bands and the
    device each ran on. Fails when a result leaves its band; names as arguments pick a subset.
    """
    env = stack(session)
    env["DLCOURSE_PROFILE"] = "full"
    run(
        session,
        env,
        "python",
        str(ROOT / "tools" / "reproduce.py"),
        *session.posargs,
    )


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Time each 2018 recipe against the book's fastest path and print the table.

    Runs the gallery's examples as a reader would, each alone in an empty folder, three times
    (``-- --repeats N`` for another count; experiment names pick a subset), and saves the medians
    to ``_build/bench.json``. Not among the default sessions: it takes about half an hour.
    """
    env = stack(session)
    env["DLCOURSE_PROFILE"] = "full"
    out = BUILD / "bench.json"
    run(
        session,
        env,
        "python",
        str(ROOT / "tools" / "bench.py"),
        "--out",
        str(out),
        *session.posargs,
    )


@nox.session(venv_backend="none")
def book(session: nox.Session) -> None:
    """Build the HTML book, executing every chapter and gallery script, then check the result."""
    env = stack(session)
    book_settings(env)
    # The execution caches know a page by its own code; what it imports or reads, they cannot see.
    digest_file = BUILD / ".execution-digest"
    digest = _execution_digest()
    try:
        before = json.loads(digest_file.read_text())
    except (OSError, ValueError):
        before = {}
    options = []
    if before != digest:
        changed = " and ".join(
            name for name in digest if before.get(name) != digest[name]
        )
        why = (
            f"{changed} changed"
            if before
            else "no record of what the last build ran with"
        )
        session.log(
            f"Every chapter and gallery script is executed again: {why}"
        )
        _forget_executions()
        # Sphinx reads only pages whose file changed; --all has it read, so execute, each one.
        options.append("--all")
    jupyter_book(session, env, "html", *options, *session.posargs)
    digest_file.write_text(json.dumps(digest, indent=1))
    run(session, env, "pytest", "-m", "book")
    session.log(f"The book is in {HTML / 'index.html'}")


def _execution_digest() -> dict[str, str]:
    """Return digests of what every executed page depends on besides its own code, by part.

    Every chapter and gallery script imports the library, and chapters read what the gallery
    and book scripts saved: a change to the library's files, to those scripts, or to the
    stack's installed packages (their ``*.dist-info`` folders name each one and its version)
    can change any page's output.
    """
    library = [
        p
        for p in (ROOT / "src" / "dlcourse").rglob("*")
        if "__pycache__" not in p.parts
    ]
    scripts = [
        *(ROOT / "gallery").glob("**/*.py"),
        *(ROOT / "book" / "scripts").glob("*.py"),
    ]
    parts = {"the library": library, "an example script": scripts}
    digests = {}
    for name, paths in parts.items():
        digest = hashlib.sha256()
        for path in sorted(p for p in paths if p.is_file()):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        digests[name] = digest.hexdigest()
    packages = sorted(
        p.relative_to(STACK).as_posix()
        for p in STACK.glob("lib/*/*/*.dist-info")
    )
    digests["the installed packages"] = hashlib.sha256(
        "\n".join(packages).encode()
    ).hexdigest()
    digests["the kernels' settings"] = hashlib.sha256(
        KERNEL_CONFIG.encode()
    ).hexdigest()
    return digests


def _forget_executions() -> None:
    """Delete what lets a build skip executing a page, and nothing the build needs otherwise.

    That is the chapters' jupyter-cache, and the ``<script>.md5`` that sphinx-gallery writes
    beside its copy of each script it ran in ``book/gallery``: it skips a script that matches.
    """
    shutil.rmtree(BUILD / ".jupyter_cache", ignore_errors=True)
    for checksum in (ROOT / "book" / "gallery").glob("**/*.py.md5"):
        checksum.unlink()


@nox.session(venv_backend="none")
def pdf(session: nox.Session) -> None:
    """Typeset the whole book as one PDF with xelatex, then check it.

    Uses the notebooks the ``book`` session executed (run it first, or this executes every
    page itself), installs Debian's TeX Live with apt-get where xelatex or latexmk is missing
    (root only), and puts the PDF beside the HTML as ``_build/html/dlcourse.pdf``, where the
    welcome page links to it.
    """
    if shutil.which("xelatex") is None or shutil.which("latexmk") is None:
        apt_install(session, "TeX Live", *TEX_PACKAGES)
    env = stack(session)
    book_settings(env)
    started = time.monotonic()
    jupyter_book(session, env, "pdflatex", *session.posargs)
    built = BUILD / "latex" / PDF
    HTML.mkdir(parents=True, exist_ok=True)
    # Copied under a temporary name and renamed, so the HTML never links to half a PDF.
    partial = HTML / f".{PDF}.partial"
    shutil.copyfile(built, partial)
    partial.replace(HTML / PDF)
    env["DLCOURSE_PDF"] = str(HTML / PDF)
    run(session, env, "pytest", "-m", "pdf", "-v")
    pages = _pdf_pages(BUILD / "latex" / "dlcourse.log")
    session.log(
        f"{HTML / PDF}: {pages} pages, typeset and checked in {time.monotonic() - started:.0f} s"
    )


def _pdf_pages(log: Path) -> str:
    """Return the page count the LaTeX log reports for the PDF, or "?" where it says none."""
    found = re.search(
        rf"Output written on {re.escape(PDF)} \((\d+) pages",
        log.read_text(errors="replace"),
    )
    return found.group(1) if found else "?"


@nox.session(venv_backend="none")
def browser(session: nox.Session) -> None:
    """Open every page of the built book in Chromium, served from 127.0.0.1 with no way out.

    Needs the book built by ``nox -s book``. Installs Debian's chromium with apt-get where it is
    missing (root only), then runs ``pytest -m browser``: each page must load without errors,
    show its images and formulas, link only to what exists and ask no other host for anything;
    in live mode, a chapter's edited cell must run on a real Jupyter server and show its output.
    """
    html = Path(os.environ.get("DLCOURSE_HTML") or HTML)
    if not (html / "index.html").is_file():
        session.error(f"no built book in {html}: run `nox -s book` first")
    if not CHROMIUM.exists():
        apt_install(session, "Chromium", "chromium")
    env = stack(session)
    env["DLCOURSE_HTML"] = str(html)
    started = time.monotonic()
    # -v lists each page checked; the tests serve the HTML themselves, on a free port.
    run(session, env, "pytest", "-m", "browser", "-v", *session.posargs)
    session.log(
        f"Browser checks of {html} passed in {time.monotonic() - started:.0f} s"
    )


@nox.session(venv_backend="none", default=False)
def live(session: nox.Session) -> None:
    """Serve the built book on 127.0.0.1 with a Jupyter server that runs its code; Ctrl-C stops.

    Needs the book built by ``nox -s book``; builds nothing. Prints the address to open; there,
    "Live code" makes a page's code editable and runnable. Chapters run in ``book/``, as in the
    build; gallery examples in ``_build/live-examples``, apart from the runs the build saved.
    Arguments go to ``dlcourse live`` (``nox -s live -- --port 8000``).
    """
    if not (HTML / "index.html").is_file():
        session.error(f"no built book in {HTML}: run `nox -s book` first")
    env = stack(session)
    book_settings(env)
    examples = BUILD / "live-examples"
    examples.mkdir(parents=True, exist_ok=True)
    run(
        session,
        env,
        "dlcourse",
        "live",
        "--book",
        str(HTML),
        "--workdir",
        str(ROOT / "book"),
        "--examples",
        str(examples),
        *session.posargs,
    )


def _wheel_tools():
    """Return the module that builds the wheel and names the frameworks the pages install."""
    if str(ROOT / "book" / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import dlcourse_wheel

    return dlcourse_wheel


def reader_env(session: nox.Session, wheel: Path) -> Path:
    """Create or reuse the reader's environment, install the wheel; return its ``python``."""
    python = READER / "bin" / "python"
    # torch kept to TORCH, as in the stack: the pages name no version of it beyond the wheel's.
    wanted = [
        f"{wheel}[{READER_EXTRA}]",
        TORCH,
        *CHAPTER_TOOLS,
        *NOTEBOOK_TOOLS,
    ]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    stamp = hashlib.sha256(
        json.dumps(
            [
                wanted[1:],
                project["dependencies"],
                project["optional-dependencies"].get(READER_EXTRA),
                sys.version,
            ]
        ).encode()
    ).hexdigest()
    stamp_file = READER / ".dlcourse-stamp"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        session.run(
            *pip, "--no-deps", "--force-reinstall", str(wheel), external=True
        )
        return python
    session.log(f"Installing {' '.join(wanted)} into {READER}")
    shutil.rmtree(READER, ignore_errors=True)
    session.run(sys.executable, "-m", "venv", str(READER), external=True)
    session.run(*pip, "--upgrade", "pip", external=True)
    session.run(*pip, *wanted, external=True)
    stamp_file.write_text(stamp)
    return python


def _check_installed_copy(session: nox.Session, python: Path) -> None:
    """Fail unless ``python`` imports dlcourse from its own environment, not from src/."""
    where = session.run(
        str(python),
        "-c",
        "import dlcourse; print(dlcourse.__file__)",
        external=True,
        silent=True,
    ).splitlines()[-1]
    if not Path(where).is_relative_to(python.parent.parent):
        session.error(
            f"the reader's environment imports dlcourse from {where}, not its own copy"
        )


@nox.session(venv_backend="none")
def downloads(session: nox.Session) -> None:
    """Run every gallery example and chapter notebook as a reader would: in an empty folder.

    The library's wheel, with every framework (``dlcourse[all]``), goes into a fresh environment
    (``.nox/downloads``) with what the welcome page has a reader add for the chapters; each
    ``plot_*.py`` script, the notebook made of it, and each chapter's notebook (the built book's,
    or one made from its MyST source) runs there, two at a time, each in an empty folder with a
    fresh HOME, under ``DLCOURSE_PROFILE=smoke``. Says pass or fail and the time of each; fails
    if any fails. Names as arguments pick examples and chapters
    (``nox -s downloads -- plot_cnn dropout``).
    """
    scripts = sorted((ROOT / "gallery").glob("**/plot_*.py"))
    chapters = _chapters()
    if session.posargs:
        chosen = set(session.posargs)
        known = {s.stem for s in scripts} | {c.stem for c in chapters}
        known |= {s.stem.removeprefix("plot_") for s in scripts}
        if chosen - known:
            session.error(
                f"no gallery example or chapter named {' '.join(sorted(chosen - known))}"
            )
        scripts = [
            s
            for s in scripts
            if {s.stem, s.stem.removeprefix("plot_")} & chosen
        ]
        chapters = [c for c in chapters if c.stem in chosen]
    env = stack(session)
    started = time.monotonic()
    wheel = _wheel_tools().build_wheel(
        BUILD / "wheel", python=str(STACK / "bin" / "python")
    )
    python = reader_env(session, wheel)
    _check_installed_copy(session, python)
    session.log(
        f"Wheel and environment ready in {time.monotonic() - started:.0f} s"
    )

    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-downloads-"))
    # The data as the library finds it, fetched once here rather than into each fresh HOME.
    data_dir = session.run(
        str(STACK / "bin" / "python"),
        "-c",
        "from dlcourse import data; data.fetch_mnist(progressbar=False); print(data.data_dir())",
        env=env,
        external=True,
        silent=True,
    ).splitlines()[-1]
    reader = {
        name: os.environ[name] for name in READER_PASSES if name in os.environ
    }
    reader.update(
        PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        DLCOURSE_DATA=data_dir,
        DLCOURSE_PROFILE="smoke",
        MPLBACKEND="Agg",
    )
    downloads: list[tuple[str, Path, tuple[str, ...]]] = [
        (
            script.relative_to(ROOT).as_posix(),
            script,
            (str(python), script.name),
        )
        for script in scripts
    ]
    for script in scripts:
        notebook = _notebook(session, env, script, scratch / "notebooks")
        downloads.append(
            (
                script.relative_to(ROOT).with_suffix(".ipynb").as_posix(),
                notebook,
                (str(python), "-c", RUN_NOTEBOOK, notebook.name),
            )
        )
    for chapter in chapters:
        notebook = _chapter_notebook(
            session, env, chapter, scratch / "chapters"
        )
        downloads.append(
            (
                chapter.relative_to(ROOT).with_suffix(".ipynb").as_posix(),
                notebook,
                (str(python), "-c", RUN_NOTEBOOK, notebook.name),
            )
        )

    def run_in_empty_folder(
        label: str, download: Path, command: tuple[str, ...]
    ) -> tuple[str, float, Path]:
        """Copy one download into a new empty folder and run ``command`` there.

        Returns the outcome, the seconds it took and the log of its output.
        """
        folder = scratch / f"{download.parent.name}-{download.name}"
        (folder / "home").mkdir(parents=True)
        (folder / "run").mkdir()
        shutil.copy2(download, folder / "run" / download.name)
        log = folder / "output.log"
        began = time.monotonic()
        with log.open("w") as output:
            finished = subprocess.run(  # noqa: S603 - the reader's Python on our own downloads
                command,
                cwd=folder / "run",
                env={**reader, "HOME": str(folder / "home")},
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        outcome = "pass" if finished.returncode == 0 else "FAIL"
        session.log(f"{outcome}  {time.monotonic() - began:6.0f} s  {label}")
        return outcome, time.monotonic() - began, log

    started = time.monotonic()
    # Two at a time: much of a run is one core starting Python and a framework.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(
            pool.map(lambda download: run_in_empty_folder(*download), downloads)
        )
    results, failed = [], []
    for (label, _, _), (outcome, seconds, log) in zip(
        downloads, outcomes, strict=True
    ):
        results.append(f"{outcome}  {seconds:6.0f} s  {label}")
        if outcome != "pass":
            tail = log.read_text(errors="replace")[-3000:]
            session.log(f"{label} failed; the end of its output:\n{tail}")
            failed.append(f"{label} (in {log.parent / 'run'})")
    session.log(
        f"Ran {len(scripts)} scripts, their notebooks and {len(chapters)} chapter notebooks "
        f"in {time.monotonic() - started:.0f} s:\n  " + "\n  ".join(results)
    )
    if failed:
        session.error(
            f"{len(failed)} download(s) failed in a fresh environment:\n  "
            + "\n  ".join(failed)
        )
    shutil.rmtree(scratch, ignore_errors=True)


def _chapters() -> list[Path]:
    """Return the chapters that run code: the ``book/*.md`` pages holding code cells."""
    return [
        page
        for page in sorted((ROOT / "book").glob("*.md"))
        if "```{code-cell}" in page.read_text(encoding="utf-8")
    ]


def _chapter_notebook(
    session: nox.Session, env: dict[str, str], chapter: Path, folder: Path
) -> Path:
    """Return the notebook a reader downloads for ``chapter``: the book's, or one made now."""
    built = HTML / "_sources" / chapter.relative_to(ROOT).with_suffix(".ipynb")
    if built.exists() and built.stat().st_mtime >= chapter.stat().st_mtime:
        return built
    # No build, or one older than the chapter: the MyST source as MyST-NB reads it.
    notebook = folder / chapter.with_suffix(".ipynb").name
    folder.mkdir(parents=True, exist_ok=True)
    run(
        session,
        env,
        "python",
        "-c",
        MYST_TO_NOTEBOOK,
        str(chapter),
        str(notebook),
    )
    return notebook


def _notebook(
    session: nox.Session, env: dict[str, str], script: Path, folder: Path
) -> Path:
    """Return the notebook a reader downloads for ``script``: the book's, or one made now."""
    built = ROOT / "book" / script.relative_to(ROOT).with_suffix(".ipynb")
    if built.exists() and built.stat().st_mtime >= script.stat().st_mtime:
        return built
    # No build, or one older than the script: convert it as sphinx-gallery does, in scratch.
    copy = folder / script.parent.name / script.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(script, copy)
    run(session, env, "sphinx_gallery_py2jupyter", str(copy))
    return copy.with_suffix(".ipynb")
