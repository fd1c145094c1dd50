"""`python -m bot` is `eco-bot`."""

import sys

from bot.cli import main

sys.exit(main())
