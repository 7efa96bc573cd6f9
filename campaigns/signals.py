"""Events of the campaigns domain, for the apps above it that act on them (webhooks).

Sent inside the transaction that makes the change, and received there too (Django's signals are
synchronous): a receiver that writes rows (a webhook delivery) commits or rolls back with the
change itself, so an event is never lost once the change is committed, nor sent for one rolled back.
"""

from django.dispatch import Signal

# A batch has its final status (set once: the engine's finalize_batch, or batch_cancel). Sent with batch_id.
batch_ended = Signal()

# Posts of one workspace were approved. Sent with workspace_id and posts (the approved Post rows).
posts_approved = Signal()
