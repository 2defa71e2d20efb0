"""``python -m orchestration.demo`` (what ``make demo`` runs)."""

import sys

from orchestration.demo.main import run_and_exit

sys.exit(run_and_exit())
