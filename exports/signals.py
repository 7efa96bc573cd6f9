"""Events of exports, for the apps above it (webhooks); sent and received inside the transaction,
as campaigns.signals explains."""

from django.dispatch import Signal

# An export can be downloaded: a CSV when the API starts it, a ZIP when its job has stored it.
# Sent with workspace_id, campaign_id, export_id, format, url and expires_at (ISO 8601).
export_ready = Signal()
