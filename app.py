"""`python app.py [--mode socket|http] [--port 3000]` does what `eco-bot run` does."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
