"""The project's settings, with static files collected into the benchmark's scratch folder.

DEBUG is off in the web benchmark, as in production, so static files are served from a
collectstatic manifest; this keeps that manifest out of the project folder.
"""

import os
from pathlib import Path

from config.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
