"""``python -m bot``: the same as the ``mediabot`` command."""

import sys

from bot.cli import main

sys.exit(main())
