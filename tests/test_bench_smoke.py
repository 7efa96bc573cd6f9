"""The benchmark's smoke run (python -m bench.generation --smoke), so that it cannot rot.

It asserts that every scenario ran to the end with no failed post and printed its row,
never how fast: timings on a shared CI machine mean nothing.
"""

import json
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.support import BASE_DIR

pytestmark = [pytest.mark.postgres, pytest.mark.workers, pytest.mark.slow]


def test_benchmark_smoke_run_completes(tmp_path):
    database = urlsplit(settings.DATABASE_URL)
    # The benchmark creates and drops a database of its own, next to the tests' one.
    bench_database = urlunsplit(database._replace(path=f"{database.path}_bench_smoke"))
    output = tmp_path / "results"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.generation",
            "--smoke",
            "--output",
            str(output),
            "--database-url",
            bench_database,
            "--redis-url",
            settings.REDIS_URL,  # the tests' own Redis database, emptied before each test anyway
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads((output / "results.json").read_text())
    names = [row["scenario"] for row in record["rows"]]
    assert names == ["smoke-reference", "smoke-ratelimit", "smoke-orchestration"]
    for row in record["rows"]:
        assert (row["status"], row["failed"], row["succeeded"]) == ("succeeded", 0, row["posts"]), row["scenario"]
        assert row["scenario"] in result.stdout
    assert [row["page"] for row in record["web"]] == ["campaign page", "batch progress partial"]
    assert all(row["errors"] == 0 and row["requests"] > 0 for row in record["web"]), record["web"]
    assert (output / "scenario1.png").stat().st_size > 0
