"""dlcourse: the library behind the book "Introduction to Deep Learning and Software"."""

__version__ = "0.1.0"
