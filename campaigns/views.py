from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from campaigns.models import BatchJob, Campaign, Post


@login_required
@require_GET
def campaign_list(request):
    campaigns = Campaign.objects.owned_by(request.user)
    return render(request, "campaigns/campaign_list.html", {"campaigns": campaigns})


@login_required
@require_GET
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.owned_by(request.user), pk=pk)
    return render(request, "campaigns/campaign_detail.html", {"campaign": campaign})


@login_required
@require_GET
def batch_detail(request, pk: int):
    batch = get_object_or_404(BatchJob.objects.filter(campaign__owner=request.user), pk=pk)
    return render(request, "campaigns/batch_detail.html", {"batch": batch})


@login_required
@require_GET
def post_detail(request, pk: int):
    post = get_object_or_404(Post.objects.owned_by(request.user), pk=pk)
    return render(request, "campaigns/post_detail.html", {"post": post})
