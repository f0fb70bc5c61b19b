"""``python -m evalscope.mock``: the child process behind ``MockServer(mode="process")``."""

from evalscope.mock.server import child_main

child_main()
