import json
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from campaigns.models import Campaign
from campaigns.services import batch_start, campaign_create
from generation import dispatch
from workspaces.models import Membership, Workspace
from workspaces.roles import Role
from workspaces.services.workspaces import personal_workspace, workspace_create, workspace_update

DEMO_MARKETER = ("demo", "demo-password-123")
DEMO_STAFF = ("staff", "staff-password-123")
DEMO_REVIEWER = ("reviewer", "reviewer-password-123")
DEMO_TEAM = "Acme marketing team"
# The team's twin of the first campaign has a name of its own: commands take a campaign by its exact
# name, and the docs' examples name the marketer's own "Summer Cold Brew Launch".
DEMO_TEAM_CAMPAIGN = "Summer Cold Brew Launch (team)"
DEMO_TEAM_BUDGET = Decimal("100.00")
DEMO_TEAM_BATCH = 4
DEMO_FIRST_BATCH = 12

CAMPAIGNS: list[dict[str, Any]] = [
    {
        "name": "Summer Cold Brew Launch",
        "brief": "Launch our new nitro cold brew for the summer. Smooth, naturally sweet, no sugar added, "
        "served in every downtown shop from June.",
        "target_audience": "busy commuters and students",
        "tone": "upbeat, friendly, a little cheeky",
        "platforms": ["instagram", "x", "tiktok"],
        "keywords": ["nitro cold brew", "summer mornings", "oat milk"],
        "hashtags": ["#BrewBetter"],
        "call_to_action": "Grab one on your way in today.",
        "brand_color": "#1F6F5C",
    },
    {
        "name": "Accounting Software Webinar",
        "brief": "Invite small business owners to a free 45-minute webinar on closing the books in one day "
        "with our accounting software.",
        "target_audience": "owners of businesses with 5 to 50 people",
        "tone": "professional, clear, helpful",
        "platforms": ["linkedin", "facebook"],
        "keywords": ["month-end close", "bookkeeping", "cash flow"],
        "hashtags": ["#SmallBusiness"],
        "call_to_action": "Save your seat: link in bio.",
    },
]


class Command(BaseCommand):
    help = (
        "Create demo data: a marketer, a reviewer, a staff user, two campaigns in the marketer's own "
        f"workspace, a team workspace ({DEMO_TEAM!r}: the marketer as owner, the reviewer as reviewer, "
        f"approval required) with the first campaign's twin ({DEMO_TEAM_CAMPAIGN!r}), and a first batch of "
        f"{DEMO_FIRST_BATCH} posts made with the local provider. Safe to run again: it creates only "
        "what is missing.\n\nExample:\n  manage.py demo"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the logins as one JSON object")
        parser.add_argument("--no-posts", action="store_true", help="skip generating the first batch")

    def handle(self, *args: Any, as_json: bool = False, no_posts: bool = False, **options: Any) -> None:
        user_model = get_user_model()
        with transaction.atomic():
            marketer = self._user(user_model, *DEMO_MARKETER, staff=False)
            self._user(user_model, *DEMO_STAFF, staff=True)
            reviewer = self._user(user_model, *DEMO_REVIEWER, staff=False)
            team = self._team(marketer, reviewer)
            created = []
            for fields in CAMPAIGNS:
                workspace = personal_workspace(marketer)
                campaign = Campaign.objects.filter(workspace=workspace, name__iexact=fields["name"]).first()
                if campaign is None:
                    campaign = campaign_create(workspace=workspace, owner=marketer, actor=marketer, **fields)
                created.append(campaign)
            team_campaign = team.campaigns.first() or campaign_create(
                workspace=team, owner=marketer, actor=marketer, **{**CAMPAIGNS[0], "name": DEMO_TEAM_CAMPAIGN}
            )
        # The marketer's first campaign gets a batch, and the team's a small one for the reviewer to approve.
        for campaign, count in ((created[0], DEMO_FIRST_BATCH), (team_campaign, DEMO_TEAM_BATCH)):
            if not no_posts and not campaign.batches.exists():
                batch = batch_start(campaign=campaign, count=count, actor=marketer, enqueue=False)
                dispatch.generate_batch_now(batch.pk)
        logins = {
            "marketer": {"username": DEMO_MARKETER[0], "password": DEMO_MARKETER[1]},
            "staff": {"username": DEMO_STAFF[0], "password": DEMO_STAFF[1]},
            "reviewer": {"username": DEMO_REVIEWER[0], "password": DEMO_REVIEWER[1]},
        }
        if as_json:
            self.stdout.write(json.dumps(logins))
            return
        self.stdout.write(f"Demo marketer: {DEMO_MARKETER[0]} / {DEMO_MARKETER[1]}")
        self.stdout.write(f"Demo reviewer: {DEMO_REVIEWER[0]} / {DEMO_REVIEWER[1]} (in {DEMO_TEAM!r})")
        self.stdout.write(f"Demo staff:    {DEMO_STAFF[0]} / {DEMO_STAFF[1]} (admin at /admin/)")

    def _team(self, owner: User, reviewer: User) -> Workspace:
        team = Workspace.objects.filter(name=DEMO_TEAM, personal_for__isnull=True).first()
        if team is None:
            team = workspace_create(name=DEMO_TEAM, owner=owner)
            # A budget, so that the batch form shows this month's spend against it.
            workspace_update(workspace=team, actor=owner, approval_required=True, monthly_budget_usd=DEMO_TEAM_BUDGET)
        Membership.objects.get_or_create(workspace=team, user=reviewer, defaults={"role": Role.REVIEWER})
        return team

    def _user(self, user_model: type[User], username: str, password: str, *, staff: bool) -> User:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": staff, "is_superuser": staff, "email": f"{username}@example.com"}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
