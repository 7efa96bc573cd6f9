"""campaigns.selectors where a read is written out in SQL for speed: it must answer as the ORM would."""

import pytest

from campaigns.models import BatchJob, BatchStatus
from campaigns.selectors import PROGRESS_FIELDS, batch_progress
from tests.factories import BatchFactory, CampaignFactory


@pytest.fixture
def batch(db):
    return BatchFactory(
        status=BatchStatus.PARTIALLY_FAILED,
        requested_count=12,
        succeeded_count=9,
        failed_count=2,
        canceled_count=1,
        cost_usd="0.0425",
        error_summary="2 posts failed: the provider refused the prompt.",
    )


def test_batch_progress_reads_what_the_orm_reads(batch, django_assert_num_queries):
    expected = BatchJob.objects.only(*PROGRESS_FIELDS).get(pk=batch.pk)
    for user in (batch.campaign.owner, None):
        with django_assert_num_queries(1):
            loaded = batch_progress(pk=batch.pk, user=user)
        assert isinstance(loaded, BatchJob)
        assert {name: getattr(loaded, name) for name in PROGRESS_FIELDS} == {
            name: getattr(expected, name) for name in PROGRESS_FIELDS
        }
        assert (loaded.done_count, loaded.progress_percent, loaded.is_active) == (12, 100, False)
    # Fields the panel doesn't show load on first use, as with .only().
    with django_assert_num_queries(1):
        assert loaded.platforms == batch.platforms


def test_batch_progress_is_owner_only(batch):
    stranger = CampaignFactory().owner
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(pk=batch.pk, user=stranger)
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(pk=batch.pk + 1000, user=batch.campaign.owner)
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(pk=batch.pk + 1000)
