"""Loyalty tests: `loyalty_testkit` (program, members, purchases through the API) is importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
