"""Values a chapter names in its text: glued into the book, printed in a downloaded notebook."""

from __future__ import annotations


def glue(name: str, value, display: bool = True) -> None:
    """Keep ``value`` under ``name`` for the book's text; without MyST-NB, print it instead.

    The book's build glues the value into the prose (``{glue:text}`name```); a student running
    the downloaded notebook has no MyST-NB, and sees ``name: value`` printed instead.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name}: {value}")
        return
    myst_glue(name, value, display=display)
