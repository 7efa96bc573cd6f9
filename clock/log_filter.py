"""Keeps rq's routine lines about the clock's jobs out of the logs.

rq logs four INFO lines for every job it runs and one for every job the cron scheduler enqueues:
for the clock's three tasks every few seconds that is several lines a second, which would bury
every line worth reading. Their warnings and errors still show, and so do rq's lines about every
other job.
"""

import logging
import re

ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


class QuietClockJobs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith("rq."):
            return True
        if record.name == "rq.cron":
            return False  # "Enqueued job … to queue clock": the scheduler enqueues nothing else
        message = ANSI_COLOURS.sub("", record.getMessage())
        return "clock.tasks." not in message and ": clock: " not in message
