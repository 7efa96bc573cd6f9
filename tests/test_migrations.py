"""The models that left campaigns for their own apps keep every row: the move is state only.

tests/migration_scenario.py fills a database at the schema before the move (campaigns 0011) with
the old models, migrates it to the latest schema and reads the rows back with today's models. It
runs in a child process against an empty database of its own.
"""

import json
import os

import pytest
from django.db import connection

from tests.support import manage_py

SCENARIO = "from tests.migration_scenario import run; run()"


@pytest.fixture
def empty_database_url(tmp_path, transactional_db):
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'before_the_move.sqlite3'}"
        return
    params = connection.settings_dict
    name = f"{params['NAME']}_before_the_move"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    yield f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_rows_written_before_the_apps_split_are_read_after_it(empty_database_url):
    result = manage_py(
        "shell", "--no-imports", "-c", SCENARIO, env={**os.environ, "DATABASE_URL": empty_database_url}, timeout=300
    )
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read == {
        "left_to_apply": 0,
        # ical_token was dropped later (workspaces 0002): each person has their own calendar feed.
        "workspace": ["Team before", "12.50"],
        "membership_role": "owner",
        "invitation_state": "pending",
        "time_zone": "Europe/Madrid",
        "campaign_in_workspace": True,
        "export_of_campaign": True,
        "provider_batch_of_batch": True,
        "token_in_workspace": True,
        "endpoint_in_workspace": True,
        # The content types followed their models (the same rows): permissions and admin history stay attached.
        "content_types_kept": dict.fromkeys(
            ["workspace", "membership", "invitation", "profile", "export", "providerbatch"], True
        ),
        "content_types_left_in_campaigns": 0,
        "permission_followed": True,
    }
