"""A one-line progress bar per stage on a terminal (plain lines when not a terminal)."""

from __future__ import annotations

import sys


class ProgressBar:
    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage:
            sys.stdout.write("\n")
        self.stage = stage
        filled = self.width * done // max(total, 1)
        line = f"[wafa] demo {stage:<17} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if sys.stdout.isatty():
            sys.stdout.write("\r" + line)
        elif done == total:
            sys.stdout.write(line + "\n")
            self.stage = ""
        sys.stdout.flush()

    def close(self) -> None:
        if self.stage and sys.stdout.isatty():
            sys.stdout.write("\n")
        self.stage = ""
