"""The staff admin: every campaign, batch and post, and actions on many at once.

Every write goes through the same services as the marketer's pages and the commands: change
forms check the services' rules (admin_forms) and save with the services, deletes, one or
many, call the delete services, and actions call a service per row. The admin only chooses
the rows and reports what could not be done. Fields no service changes are read-only.
Change lists stay fast with 100,000s of posts: no full-table COUNT (BoundedCountPaginator,
no full result count, no facets), no filter that lists every campaign or batch, and
thumbnails made at generation time.
"""

from campaigns.admin import batches, campaigns, posts, review

__all__ = ["batches", "campaigns", "posts", "review"]
