"""`python -m huzhu`: the command line (`huzhu --help`)."""

import sys

from huzhu.cli import main

if __name__ == "__main__":  # documentation tools import this module to read it
    sys.exit(main())
