"""``python -m dlcourse``: the same as the ``dlcourse`` command."""

import sys

from dlcourse.cli import main

sys.exit(main())
