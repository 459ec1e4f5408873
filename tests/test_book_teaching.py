"""Checks of the built HTML book as a course: objectives, summaries, exercises, glossary.

Run by ``nox -s book`` after the build (``pytest -m book``).
"""

from __future__ import annotations

import bookpages
import pytest

pytestmark = pytest.mark.book

# Pages that are not lessons: the welcome page teaches nothing itself, the glossary is reference,
# the build report says how the book was made.
NOT_LESSONS = {"book/welcome", "book/glossary", "book/build_report"}
LESSONS = [file for file in bookpages.toc_chapters() if file not in NOT_LESSONS]


def _page(stem: str):
    return bookpages.page(f"{stem}.html")


def _section(page, title: str):
    for heading in page.select("section > h2"):
        if heading.get_text(strip=True).rstrip("#").strip() == title:
            return heading.parent
    return None


@pytest.mark.parametrize("chapter", [*LESSONS, "book/welcome"])
def test_chapter_opens_with_learning_objectives(chapter):
    page = _page(chapter)
    boxes = [
        box
        for box in page.select("div.admonition")
        if box.select_one(".admonition-title")
        and box.select_one(".admonition-title").get_text(strip=True)
        == "Learning objectives"
    ]
    assert len(boxes) == 1, f"{chapter}: expected one 'Learning objectives' box"
    assert len(boxes[0].select("li")) >= 3, (
        f"{chapter}: fewer than three objectives"
    )
    first_section = page.select_one("main section section")
    if first_section is not None:
        assert boxes[0].find_parent("section") is not first_section, (
            f"{chapter}: the objectives come after the first section instead of opening it"
        )


@pytest.mark.parametrize("chapter", LESSONS)
def test_chapter_ends_with_summary_and_exercises(chapter):
    page = _page(chapter)
    summary = _section(page, "Summary")
    exercises = _section(page, "Exercises")
    assert summary is not None, f"{chapter}: no 'Summary' section"
    assert len(summary.select("li")) >= 3, (
        f"{chapter}: the summary has fewer than three points"
    )
    assert exercises is not None, f"{chapter}: no 'Exercises' section"
    count = len(exercises.select("div.exercise"))
    assert 3 <= count <= 6, f"{chapter}: {count} exercises, expected 3 to 6"


@pytest.mark.parametrize("chapter", LESSONS)
def test_self_check_sits_between_summary_and_exercises(chapter):
    page = _page(chapter)
    summary = _section(page, "Summary")
    check = _section(page, "Self-check")
    assert check is not None, f"{chapter}: no 'Self-check' section"
    assert (
        summary is not None and summary.find_next_sibling("section") is check
    ), f"{chapter}: the self-check does not follow the summary"
    assert check.find_next_sibling("section") is _section(page, "Exercises"), (
        f"{chapter}: the exercises do not follow the self-check"
    )
    # sphinx-design's dropdown: <details class="sd-dropdown"> around a <summary> (the question)
    # and a body (the answer), open only when the reader opens it.
    questions = check.select("details.sd-dropdown")
    assert 3 <= len(questions) <= 5, (
        f"{chapter}: {len(questions)} self-check questions, expected 3 to 5"
    )
    for details in questions:
        summary_tag = details.find("summary")
        question = summary_tag.get_text(" ", strip=True) if summary_tag else ""
        assert question, f"{chapter}: a self-check answer has no question"
        assert not details.has_attr("open"), (
            f"{chapter}: the answer to '{question}' is shown, not hidden"
        )
        answer = details.select_one(".sd-summary-content")
        assert answer is not None and answer.get_text(strip=True), (
            f"{chapter}: '{question}' has no answer"
        )


@pytest.mark.parametrize("chapter", LESSONS)
def test_every_exercise_has_a_hidden_solution(chapter):
    page = _page(chapter)
    exercise_ids = {box["id"] for box in page.select("div.exercise[id]")}
    solved = set()
    for solution in page.select("div.solution"):
        assert "dropdown" in solution["class"], (
            f"{chapter}: a solution is shown, not hidden"
        )
        link = solution.select_one(".admonition-title a[href]")
        assert link is not None, f"{chapter}: a solution names no exercise"
        solved.add(link["href"].split("#")[-1])
    assert exercise_ids <= solved, (
        f"{chapter}: no solution for {sorted(exercise_ids - solved)}"
    )


@pytest.mark.parametrize("chapter", LESSONS)
def test_code_in_solutions_was_executed(chapter):
    page = _page(chapter)
    for solution in page.select("div.solution"):
        cells = solution.select("div.cell")
        if not cells:
            continue
        title = solution.select_one(".admonition-title").get_text(
            " ", strip=True
        )
        # A worked solution shows what its code computed: at least one cell has output.
        assert solution.select("div.cell_output"), (
            f"{chapter}: '{title}' shows no output"
        )
        assert "Traceback" not in solution.get_text(), (
            f"{chapter}: '{title}' failed"
        )


def test_model_chapters_ask_for_a_change_to_their_script():
    for chapter, script in [
        ("book/softmax_regression", "plot_softmax_regression.py"),
        ("book/deeper_networks", "plot_five_layer_network.py"),
        ("book/dropout", "plot_five_layer_network.py"),
        ("book/convolutional_networks", "plot_cnn.py"),
        ("book/more_data", "plot_cnn_expanded.py"),
        ("book/training_fast", "plot_training_fast.py"),
    ]:
        exercises = _section(_page(chapter), "Exercises")
        texts = [box.get_text(" ") for box in exercises.select("div.exercise")]
        assert any(script in text for text in texts), (
            f"{chapter}: no exercise changes {script}"
        )


def test_glossary_defines_terms_the_chapters_link():
    glossary = _page("book/glossary")
    terms = {dt["id"] for dt in glossary.select("dl.glossary dt[id]")}
    assert len(terms) >= 30, f"the glossary defines only {len(terms)} terms"
    linked = set()
    for chapter in LESSONS:
        for link in _page(chapter).select("a[href*='glossary.html#term-']"):
            linked.add(link["href"].split("#")[-1])
    unlinked = sorted(terms - linked)
    assert not unlinked, f"glossary terms no chapter links to: {unlinked}"
    assert glossary.select("table"), "the notation table is missing"
