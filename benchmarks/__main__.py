"""``python -m benchmarks NAME [options]``; ``python -m benchmarks list``."""

import sys

from .runner import main

sys.exit(main())
