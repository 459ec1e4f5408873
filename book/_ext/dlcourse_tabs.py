"""Sphinx extension: executed code cells shown as a Keras | PyTorch choice.

MyST-NB executes only the code cells at the top level of a page, never one inside a
``{tab-item}``. So a chapter writes the two versions as ordinary cells, one after the other,
tagged ``framework-keras`` and ``framework-torch`` (``:tags: [framework-keras]``), and runs
both; once the page is read, with its outputs, this extension puts each such pair into a tab
set like the one ``{tab-set}`` writes, synced like the book's other Keras | PyTorch tabs.
Several cells in a row with the same tag make one tab. A tagged cell with no partner is an
error. In the PDF the two tabs are printed one after the other, as sphinx-design prints tabs.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx_design.shared import create_component

logger = logging.getLogger(__name__)

# Each framework's sync key (the ``:sync:`` of the book's written tab sets) and its label.
FRAMEWORKS = {"keras": "Keras", "torch": "PyTorch"}
TAG = "framework-"


def framework(node: nodes.Node) -> str | None:
    """Return the sync key of the framework an executed code cell is tagged with, or None."""
    if not (
        isinstance(node, nodes.container)
        and node.get("nb_element") == "cell_code"
    ):
        return None
    tags = node.get("cell_metadata", {}).get("tags", [])
    keys = [tag.removeprefix(TAG) for tag in tags if tag.startswith(TAG)]
    if not keys:
        return None
    if len(keys) > 1 or keys[0] not in FRAMEWORKS:
        logger.warning(
            f"a cell tagged {keys}: tag it with one of "
            f"{', '.join(TAG + key for key in FRAMEWORKS)}",
            location=node,
        )
        return None
    return keys[0]


def runs(parent: nodes.Element) -> list[tuple[str | None, list[nodes.Node]]]:
    """Return the parent's children grouped: consecutive cells of one framework together."""
    grouped: list[tuple[str | None, list[nodes.Node]]] = []
    for child in parent.children:
        key = framework(child)
        if key is not None and grouped and grouped[-1][0] == key:
            grouped[-1][1].append(child)
        else:
            grouped.append((key, [child]))
    return grouped


def tab_set(tabs: dict[str, list[nodes.Node]]) -> nodes.container:
    """Return a sphinx-design tab set holding each framework's cells in its own tab."""
    items = []
    for key, cells in tabs.items():
        label = nodes.rubric(
            FRAMEWORKS[key],
            "",
            nodes.Text(FRAMEWORKS[key]),
            classes=["sd-tab-label"],
            sync_id=key,
            sync_group="tab",
        )
        content = create_component(
            "tab-content", classes=["sd-tab-content"], children=cells
        )
        items.append(
            create_component(
                "tab-item",
                classes=["sd-tab-item"],
                selected=False,
                children=[label, content],
            )
        )
    tabs_node = create_component(
        "tab-set", classes=["sd-tab-set"], children=items
    )
    first = items[0].children[1].children[0]
    tabs_node.source, tabs_node.line = first.source, first.line
    return tabs_node


def framework_tabs(app: Sphinx, doctree: nodes.document) -> None:
    """Put every Keras cell run directly followed by a PyTorch cell run into a tab set."""
    parents = {
        id(cell.parent): cell.parent
        for cell in doctree.findall(nodes.container)
        if framework(cell) is not None
    }
    order = list(FRAMEWORKS)
    for parent in parents.values():
        grouped = runs(parent)
        children: list[nodes.Node] = []
        index = 0
        while index < len(grouped):
            key, cells = grouped[index]
            pair = grouped[index : index + len(order)]
            if key is None:
                children += cells
                index += 1
            elif [k for k, _ in pair] == order:
                children.append(tab_set(dict(pair)))
                index += len(order)
            else:
                logger.warning(
                    f"a cell tagged {TAG}{key} without its partner: follow each "
                    f"{TAG}{order[0]} cell directly with a {TAG}{order[1]} cell",
                    location=cells[0],
                )
                children += cells
                index += 1
        parent.children = []
        parent.extend(children)


def setup(app: Sphinx) -> dict:
    """Wrap the tagged cells once each page is read, before sphinx-design lays out tabs."""
    app.setup_extension("sphinx_design")
    app.connect("doctree-read", framework_tabs)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
