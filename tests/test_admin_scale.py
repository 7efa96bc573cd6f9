"""The admin with 100,000 posts: fixed query counts, and no COUNT(*) over the whole posts table."""

import re
import time

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import BatchJob, BatchStatus, Campaign
from tests.factories import BatchFactory, CampaignFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db]

POSTS = 100_000
BATCH_SIZE = 1000  # the largest batch: 100 batches of 1,000 posts, over 10 campaigns

# Fills campaigns_post in one statement; 2% of the posts failed, with one of two reasons.
INSERT_POSTS = """
INSERT INTO campaigns_post (
    campaign_id, batch_id, sequence, platform, status, scope, review_status, caption, hashtags, headline,
    image, thumbnail, image_prompt, error_message, failure_reason, attempts, lease_owner, prompt_tokens,
    completion_tokens, cost_usd, generated_at, created_at, updated_at
)
SELECT b.campaign_id, b.id, s.n, (ARRAY['instagram', 'x', 'linkedin'])[1 + s.n %% 3],
    CASE WHEN s.n %% 50 = 7 THEN 'failed' ELSE 'succeeded' END, 'batch', 'draft',
    'Caption ' || b.id || '-' || s.n, '["#BrewBetter"]'::jsonb, 'Headline',
    'posts/' || b.campaign_id || '/' || b.id || '-' || s.n || '.jpg',
    'posts/' || b.campaign_id || '/' || b.id || '-' || s.n || '-thumb.jpg', '',
    CASE WHEN s.n %% 100 = 7 THEN 'request timed out (after 5 tries)'
         WHEN s.n %% 50 = 7 THEN 'refused by the provider''s content policy' ELSE '' END,
    CASE WHEN s.n %% 100 = 7 THEN 'timeout' WHEN s.n %% 50 = 7 THEN 'content_policy' ELSE '' END,
    1, '', 420, 120, 0.0001, now(), now() - make_interval(secs => b.id * 1000 + s.n), now()
FROM campaigns_batchjob b CROSS JOIN generate_series(0, %s - 1) AS s(n)
WHERE b.id = ANY(%s)
"""

COUNT = re.compile(r"\bCOUNT\(", re.IGNORECASE)
# A count of one batch's posts reads at most 1,000 rows through the (batch, status) index.
ONE_BATCH = '"campaigns_post"."batch_id" = '


@pytest.fixture
def hundred_thousand_posts():
    campaigns = CampaignFactory.create_batch(10)
    batches = [
        BatchFactory(
            campaign=campaigns[i % 10],
            requested_count=BATCH_SIZE,
            status=BatchStatus.PARTIALLY_FAILED,
            succeeded_count=BATCH_SIZE - BATCH_SIZE // 50,
            failed_count=BATCH_SIZE // 50,
        )
        for i in range(POSTS // BATCH_SIZE)
    ]
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_POSTS, [BATCH_SIZE, [b.pk for b in batches]])
        cursor.execute("ANALYZE campaigns_post")
    print(f"\ninserted {POSTS:,} posts in {time.monotonic() - started:.1f}s")
    return batches


def counts_over_posts(queries: list[dict]) -> list[str]:
    """Queries that count posts with neither a LIMIT inside nor a single batch to count in."""
    return [
        q["sql"]
        for q in queries
        if COUNT.search(q["sql"]) and "campaigns_post" in q["sql"] and "LIMIT" not in q["sql"]
        if ONE_BATCH not in q["sql"]
    ]


def test_the_detector_sees_a_full_count():
    from campaigns.models import Post

    with CaptureQueriesContext(connection) as captured:
        Post.objects.count()
        Post.objects.filter(status="failed").count()
        list(Campaign.objects.annotate(n=Count("posts")))
    assert len(counts_over_posts(captured.captured_queries)) == 3


def test_admin_pages_stay_fixed_with_100000_posts(staff_client, hundred_thousand_posts):
    batch = hundred_thousand_posts[42]
    campaign = Campaign.objects.get(pk=batch.campaign_id)
    posts = reverse("admin:campaigns_post_changelist")
    pages = {
        # name: (url, query string, max queries)
        "posts": (posts, {}, 6),
        "posts page 50": (posts, {"p": "50"}, 6),
        "posts failed": (posts, {"status__exact": "failed"}, 6),
        "posts of a batch": (posts, {"batch": batch.pk}, 6),
        "posts of a campaign": (posts, {"campaign": campaign.pk}, 7),
        "posts by id": (posts, {"q": "4242"}, 6),
        "posts with facets asked": (posts, {"_facets": "1", "status__exact": "succeeded"}, 6),
        "posts sorted by created": (posts, {"o": "-8"}, 6),
        "batches": (reverse("admin:campaigns_batchjob_changelist"), {}, 6),
        "campaigns": (reverse("admin:campaigns_campaign_changelist"), {}, 8),
        "batch page": (reverse("admin:campaigns_batchjob_change", args=[batch.pk]), {}, 8),
        "batch progress": (reverse("admin:campaigns_batchjob_progress", args=[batch.pk]), {}, 3),
        "post page": (
            reverse("admin:campaigns_post_change", args=[batch.posts.values_list("pk", flat=True)[0]]),
            {},
            8,
        ),
    }
    staff_client.get(posts)  # warm up: the first request loads the user's session
    report = []
    for name, (url, params, max_queries) in pages.items():
        with CaptureQueriesContext(connection) as captured:
            started = time.monotonic()
            response = staff_client.get(url, params)
            elapsed = time.monotonic() - started
        assert response.status_code == 200, (name, response.status_code)
        assert len(captured.captured_queries) <= max_queries, (name, [q["sql"] for q in captured.captured_queries])
        assert not counts_over_posts(captured.captured_queries), name
        report.append(f"{name:<26} {len(captured.captured_queries):>2} queries {elapsed * 1000:>7.0f} ms")
    print("\n".join(report))

    page = staff_client.get(posts).content.decode()
    assert "10,000+ posts" in page
    assert "Select all 10,000+ posts" in page
    assert f"/media/posts/{campaign.pk}/" in page  # thumbnails: stored files, never made on request
    batch_page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert 'Content policy</a> <code>content_policy</code></td><td class="numeric">10</td>' in batch_page
    assert 'Timed out</a> <code>timeout</code></td><td class="numeric">10</td>' in batch_page
    assert BatchJob.objects.count() == POSTS // BATCH_SIZE
