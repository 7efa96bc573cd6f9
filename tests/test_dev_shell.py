"""The shell next to `make run`: the .env it writes, a port that is taken, and a Redis that does not answer."""

import socket

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import BatchJob
from devserver import run
from tests.factories import CampaignFactory
from tests.test_settings import manage


def test_commands_from_a_second_terminal_read_the_env_file(tmp_path):
    """Without DEBUG in the environment a command would stop on SECRET_KEY; the .env make run wrote sets it."""
    without = manage("check", ENV_FILE="")
    assert without.returncode != 0 and "SECRET_KEY must be set" in without.stderr
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\n")
    assert manage("check", ENV_FILE=str(env_file)).returncode == 0


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nLOG_LEVEL=not-a-level\n")
    result = manage("check", ENV_FILE=str(env_file), LOG_LEVEL="info")
    assert result.returncode == 0, result.stderr


def test_make_run_remembers_its_choices_and_keeps_other_lines(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("GENERATION_PROVIDER=openai\nREDIS_URL=unix:///old.sock\n")
    monkeypatch.setattr(run, "ENV_FILE", env_file)
    run.remember({"DEBUG": "1", "REDIS_URL": "unix:///new.sock?db=0"}, "DEBUG", "REDIS_URL")
    lines = env_file.read_text().splitlines()
    assert sorted(lines) == ["DEBUG=1", "GENERATION_PROVIDER=openai", "REDIS_URL=unix:///new.sock?db=0"]


def test_a_taken_port_is_reported_before_anything_starts():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((run.HOST, 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert "already in use" in run.port_problem(port)
    assert run.port_problem(port) is None
    assert "must be a number" in run.port_problem("eighty")


@pytest.mark.django_db
def test_commands_say_in_one_line_that_redis_does_not_answer(settings):
    settings.RQ_QUEUES = {
        name: {**queue, "URL": "redis://:s3cret@127.0.0.1:1/0"} for name, queue in settings.RQ_QUEUES.items()
    }
    settings.REDIS_URL = "redis://:s3cret@127.0.0.1:1/0"
    campaign = CampaignFactory()
    with pytest.raises(CommandError) as refused:
        call_command("generate_posts", str(campaign.pk), "--count", "3")
    message = str(refused.value)
    assert message.startswith("Redis does not answer at redis://127.0.0.1:1/0") and "\n" not in message
    assert "s3cret" not in message
    assert not BatchJob.objects.exists()  # nothing written for a queue that cannot take it
