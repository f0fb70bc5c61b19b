import sys

from evalscope.cli import main

sys.exit(main())
