"""Analytics tests: `analytics_testkit` (sending events, reading tables) and `analytics_history`
(a hand-computable fixture) are importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
