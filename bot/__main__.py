"""``python -m bot``: the same as the ``mediabot`` command."""

import sys

from bot.cli.main import main

sys.exit(main())
