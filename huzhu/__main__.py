import sys

from huzhu.cli import main

sys.exit(main())
