from huzhu.cli import main
import sys

sys.exit(main())
