"""campaigns.selectors: the progress panel's read, for the batch's owner and for staff."""

import pytest

from campaigns.models import BatchJob, BatchStatus
from campaigns.selectors import PROGRESS_FIELDS, batch_progress, batch_progress_for_staff
from tests.factories import BatchFactory, CampaignFactory, UserFactory


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


def test_batch_progress_reads_the_panels_fields_in_one_query(batch, django_assert_num_queries):
    owner = batch.campaign.owner
    batch.refresh_from_db()
    with django_assert_num_queries(1):
        loaded = batch_progress(user=owner, pk=batch.pk)
    assert {name: getattr(loaded, name) for name in PROGRESS_FIELDS} == {
        name: getattr(batch, name) for name in PROGRESS_FIELDS
    }
    assert (loaded.done_count, loaded.progress_percent, loaded.is_active) == (12, 100, False)
    # Fields the panel doesn't show are deferred: they load on first use.
    assert "platforms" in loaded.get_deferred_fields()
    with django_assert_num_queries(1):
        assert loaded.platforms == batch.platforms


def test_batch_progress_is_for_the_owner_only(batch):
    stranger = CampaignFactory().owner
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(user=stranger, pk=batch.pk)
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(user=batch.campaign.owner, pk=batch.pk + 1000)
    # Staff are no exception here: the admin has its own selector.
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress(user=UserFactory(is_staff=True), pk=batch.pk)


def test_batch_progress_for_staff_reads_any_owners_batch_and_only_for_staff(batch, django_assert_num_queries):
    staff = UserFactory(is_staff=True)
    with django_assert_num_queries(1):
        loaded = batch_progress_for_staff(user=staff, pk=batch.pk)
    assert (loaded.pk, loaded.done_count) == (batch.pk, 12)
    for user in (batch.campaign.owner, UserFactory(is_staff=True, is_active=False)):
        with pytest.raises(BatchJob.DoesNotExist):
            batch_progress_for_staff(user=user, pk=batch.pk)
    with pytest.raises(BatchJob.DoesNotExist):
        batch_progress_for_staff(user=staff, pk=batch.pk + 1000)
