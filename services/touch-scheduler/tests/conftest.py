"""Touch scheduler tests: `touch_testkit` (customers and triggers on the bus) is importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
