"""Webhooks: signed deliveries from a real worker to a real receiver, retries, disabling, SSRF."""

import json
import socket
import ssl
from datetime import timedelta

import django_rq
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks import Webhook

from campaigns import services as campaign_services
from campaigns.models import BatchStatus
from shared.outbound import non_public
from tests.api_support import call, make_token
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_for
from tests.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.delivery import deliver
from webhooks.models import DeliveryFailure, DeliveryStatus, Event, WebhookDelivery
from webhooks.queue import QUEUE_NAME, enqueue_due_deliveries
from workspaces.services.workspaces import personal_workspace


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def private_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    return settings


@pytest.mark.workers
@pytest.mark.slow
def test_a_batch_started_over_the_api_ends_in_a_signed_webhook_verified_by_the_receiver(
    client, user, receiver, private_targets, workers
):
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user),
        actor=user,
        url=receiver.url,
        events=[Event.BATCH_SUCCEEDED, Event.POST_APPROVED],
    )
    workers.start("hooks-1", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    batch = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 3}).json()
    wait_for(lambda: receiver.received, timeout=90, message="the batch.succeeded webhook")

    message = receiver.received[0]
    assert message.path == "/hooks"
    # What a receiver does: verify the signature and the timestamp with the standardwebhooks library.
    payload = Webhook(endpoint.secret).verify(message.body, message.headers)
    assert payload["type"] == "batch.succeeded"
    assert payload["data"]["batch_id"] == batch["id"] and payload["data"]["succeeded_count"] == 3
    assert message.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook(services.new_secret()).verify(message.body, message.headers)

    post_id = call(client, "GET", f"/posts?batch_id={batch['id']}&limit=1", token).json()["items"][0]["id"]
    assert call(client, "POST", f"/posts/{post_id}/approve", token).status_code == 200
    wait_for(lambda: len(receiver.received) == 2, timeout=30, message="the post.approved webhook")
    approved = Webhook(endpoint.secret).verify(receiver.received[1].body, receiver.received[1].headers)
    assert approved["type"] == "post.approved" and approved["data"]["post_id"] == post_id
    delivered = WebhookDelivery.objects.filter(endpoint=endpoint)
    # The worker records each answer once it has it, a moment after the receiver took the message.
    wait_for(lambda: not delivered.filter(response_status=None).exists(), timeout=30, message="the answers recorded")
    assert {d.status for d in delivered} == {DeliveryStatus.SUCCEEDED}
    assert {d.response_status for d in delivered} == {204}


@pytest.mark.workers
@pytest.mark.slow
def test_a_worker_retries_a_failed_delivery_when_it_comes_due(user, receiver, private_targets, workers):
    """The retry waits in PostgreSQL; a worker's recovery round enqueues it once due, and it goes through."""
    receiver.status = 503
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
    )
    workers.start("hooks-retry", WEBHOOK_ALLOW_PRIVATE_TARGETS="1", WEBHOOK_RETRY_DELAYS="[2]")
    campaign_services.post_review(
        post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
    )
    wait_for(lambda: len(receiver.received) == 1, timeout=30, message="the first attempt")
    receiver.status = 204
    wait_for(lambda: len(receiver.received) == 2, timeout=30, message="the retry")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED, timeout=10)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.response_status == 204
    first, retry = receiver.received
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert int(retry.headers["webhook-timestamp"]) >= int(first.headers["webhook-timestamp"]) + 2


@pytest.mark.django_db
def test_a_failing_endpoint_is_retried_on_schedule_then_disabled_with_the_reason_shown(
    signed_in_client, user, private_targets, django_capture_on_commit_callbacks
):
    private_targets.WEBHOOK_RETRY_DELAYS = [0, 300]
    with WebhookReceiver(status=500) as receiver:
        endpoint = services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
        )
        post = PostFactory(campaign=CampaignFactory(owner=user))
        with django_capture_on_commit_callbacks(execute=False):
            campaign_services.post_review(post=post, decision="approved", actor=None)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)

        assert deliver(delivery.pk) == "failed, retry in 0s"  # the first retry comes at once
        assert deliver(delivery.pk) == "failed, retry in 300s"
        assert deliver(delivery.pk) == "not due"  # five minutes later, not before
        assert len(receiver.received) == 2
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING and delivery.response_status == 500

        # Five minutes on: the workers' sweep finds it due and puts it on the queue.
        django_rq.get_queue(QUEUE_NAME).empty()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):  # django-rq enqueues on commit
            assert enqueue_due_deliveries() == 1
        assert django_rq.get_queue(QUEUE_NAME).count == 1
        assert deliver(delivery.pk) == "failed, endpoint disabled"
        assert len(receiver.received) == 3
        # Every attempt carried the same webhook-id, so that a receiver can tell a retry from a new message.
        assert len({message.headers["webhook-id"] for message in receiver.received}) == 1

    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert not endpoint.is_active and endpoint.consecutive_failures == 3
    assert "failed all 3 attempts" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    page = signed_in_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "failed all 3 attempts" in page and "Redeliver" in page

    # A disabled endpoint is sent nothing, and cannot be redelivered to until it is enabled.
    other = PostFactory(campaign=post.campaign)
    campaign_services.post_review(post=other, decision="approved", actor=None)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    with pytest.raises(ValidationError):
        services.delivery_redeliver(delivery=delivery, actor=user)

    with WebhookReceiver(status=200) as healthy:
        services.endpoint_update(endpoint=endpoint, actor=user, url=healthy.url, events=endpoint.events)
        services.endpoint_enable(endpoint=endpoint, actor=user)
        with django_capture_on_commit_callbacks(execute=False):
            response = signed_in_client.post(f"/settings/webhooks/deliveries/{delivery.pk}/redeliver/")
        assert response.status_code == 302
        assert deliver(delivery.pk) == "delivered"
        assert len(healthy.received) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(user, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=url, events=[Event.BATCH_SUCCEEDED]
        )
    assert "url" in refused.value.message_dict
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    if url.startswith("http"):
        services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=url, events=[Event.BATCH_SUCCEEDED]
        )


@pytest.mark.django_db
def test_a_target_that_turned_private_is_not_called(
    user, private_targets, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
    )
    private_targets.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with django_capture_on_commit_callbacks(execute=False):
        campaign_services.post_review(
            post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.received == []
    assert delivery.last_error == DeliveryFailure.PRIVATE_ADDRESS


@pytest.mark.django_db
def test_events_reach_only_the_owners_subscribed_active_endpoints(user, other_user, private_targets):
    mine = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/a", events=[Event.BATCH_CANCELED]
    )
    services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/b", events=[Event.POST_APPROVED]
    )
    services.endpoint_create(
        workspace=personal_workspace(other_user),
        actor=other_user,
        url="http://127.0.0.1:9/c",
        events=[Event.BATCH_CANCELED],
    )
    campaign = CampaignFactory(owner=user)
    batch = campaign_services.batch_start(campaign=campaign, count=2, enqueue=False, actor=None)
    campaign_services.batch_cancel(batch=batch, actor=None)
    assert batch.status == BatchStatus.CANCELED
    deliveries = list(WebhookDelivery.objects.all())
    assert [d.endpoint_id for d in deliveries] == [mine.pk]
    assert deliveries[0].payload["data"]["canceled_count"] == 2
    assert json.loads(json.dumps(deliveries[0].payload))["type"] == "batch.canceled"


@pytest.mark.django_db
def test_the_endpoint_pages_are_the_owners_only(signed_in_client, other_user, private_targets):
    theirs = services.endpoint_create(
        workspace=personal_workspace(other_user),
        actor=other_user,
        url="http://127.0.0.1:9/x",
        events=[Event.POST_APPROVED],
    )
    assert signed_in_client.get(f"/settings/webhooks/{theirs.pk}/").status_code == 404
    assert signed_in_client.post(f"/settings/webhooks/{theirs.pk}/state/", {"action": "delete"}).status_code == 404
    response = signed_in_client.post(
        "/settings/webhooks/", {"url": "http://127.0.0.1:9/mine", "events": ["batch.failed"]}
    )
    assert response.status_code == 302
    assert "whsec_" in signed_in_client.get(response["Location"]).content.decode()


class Resolver:
    """The DNS of a test: names it knows answer what the test says, others the system's answer.

    It replaces socket.getaddrinfo, which both the guard and httpx's own connections (through
    socket.create_connection) would use, so a second lookup anywhere would see the second answer."""

    def __init__(self, monkeypatch, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []
        self.system = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.system(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer stays
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]


def _approved_post_delivery(user, endpoint, django_capture_on_commit_callbacks) -> WebhookDelivery:
    with django_capture_on_commit_callbacks(execute=False):
        campaign_services.post_review(
            post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
        )
    return WebhookDelivery.objects.get(endpoint=endpoint)


@pytest.mark.django_db
def test_a_name_rebinding_to_loopback_after_the_check_reaches_nothing(
    user, settings, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """DNS rebinding: the name answers a public address to the check, then 127.0.0.1. The attempt
    connects to the address that was checked, so the signed POST never reaches the loopback receiver."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    port = receiver.server.server_address[1]
    dns = Resolver(monkeypatch, {"rebind.test": ["1.0.0.1"]})
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user),
        actor=user,
        url=f"http://rebind.test:{port}/hooks",
        events=[Event.POST_APPROVED],
    )
    delivery = _approved_post_delivery(user, endpoint, django_capture_on_commit_callbacks)

    dns.lookups.clear()
    dns.answers["rebind.test"] = ["1.0.0.1", "127.0.0.1"]  # public first, loopback to every later lookup
    deliver(delivery.pk)

    assert receiver.received == []
    assert dns.lookups == ["rebind.test"]  # resolved once, by the guard
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # it failed (nothing answers there) and will be retried
    assert delivery.last_error in (DeliveryFailure.CONNECTION, DeliveryFailure.TIMEOUT)


@pytest.mark.django_db
def test_a_pinned_delivery_keeps_the_urls_host_header(
    user, private_targets, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    port = receiver.server.server_address[1]
    dns = Resolver(monkeypatch, {"hooks.test": ["127.0.0.1"]})
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user),
        actor=user,
        url=f"http://hooks.test:{port}/hooks",
        events=[Event.POST_APPROVED],
    )
    delivery = _approved_post_delivery(user, endpoint, django_capture_on_commit_callbacks)
    dns.lookups.clear()
    assert deliver(delivery.pk) == "delivered"
    assert dns.lookups == ["hooks.test"]
    assert receiver.received[0].headers["Host"] == f"hooks.test:{port}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254, the cloud's metadata
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[::7f00:1]/",  # IPv4-compatible
        "http://[::ffff:0:7f00:1]/",  # IPv4-translated
        "http://[::ffff:a00:1]/",  # IPv4-mapped 10.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
        "http://[64:ff9b:1::808:808]/",  # NAT64 local-use: never global
    ],
)
def test_ipv6_addresses_carrying_a_private_ipv4_are_refused(user, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=url, events=[Event.BATCH_SUCCEEDED]
        )
    assert "url" in refused.value.message_dict


def test_global_addresses_pass_the_guard_and_embedded_public_ipv4_too():
    for address in ("8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"):
        assert not non_public(address), address
    for address in ("224.0.0.1", "ff02::1", "0.0.0.0", "::", "100.64.0.1", "fc00::1"):
        assert non_public(address), address


@pytest.mark.django_db
def test_the_delivery_log_shows_a_reason_code_never_what_the_target_said(
    signed_in_client, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The owner chooses the URL: the log must not tell them what a refused name resolves to, nor
    how a connection to an address they may not reach failed. It shows a sentence per reason code."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_DELAYS = [300]
    Resolver(monkeypatch, {"intranet.test": ["10.20.30.40"]})
    refused = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://intranet.test/x", events=[Event.POST_APPROVED]
    )
    with socket.socket() as closed:  # a port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    unreachable = services.endpoint_create(
        workspace=personal_workspace(user),
        actor=user,
        url=f"http://127.0.0.1:{closed_port}/x",
        events=[Event.POST_APPROVED],
    )
    with django_capture_on_commit_callbacks(execute=False):
        campaign_services.post_review(
            post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
        )
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # intranet.test is now refused
    deliver(WebhookDelivery.objects.get(endpoint=refused).pk)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    deliver(WebhookDelivery.objects.get(endpoint=unreachable).pk)

    assert WebhookDelivery.objects.get(endpoint=refused).last_error == DeliveryFailure.PRIVATE_ADDRESS
    assert WebhookDelivery.objects.get(endpoint=unreachable).last_error == DeliveryFailure.CONNECTION
    page = signed_in_client.get(f"/settings/webhooks/{refused.pk}/").content.decode()
    assert "private or local address" in page and "10.20.30.40" not in page
    page = signed_in_client.get(f"/settings/webhooks/{unreachable.pk}/").content.decode()
    assert "Could not connect to the endpoint." in page
    assert "Errno" not in page and "refused" not in page.lower() and "ConnectError" not in page


def _tls_certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for `name` (its own CA): (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.mark.django_db
@pytest.mark.parametrize(("certificate_name", "delivered"), [("hooks.test", True), ("someone-else.test", False)])
def test_a_pinned_https_delivery_sends_the_urls_name_and_checks_the_certificate_against_it(
    user, private_targets, tmp_path, monkeypatch, django_capture_on_commit_callbacks, certificate_name, delivered
):
    """The connection goes to the pinned address, but TLS is the URL's: SNI is its host name and the
    certificate must be valid for that name (not for the address)."""
    cert_file, key_file = _tls_certificate(tmp_path, certificate_name)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    server_names: list[str | None] = []
    server_context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    # The client trusts the test's certificate as its CA (the pinned transport's context is httpx's).
    trusting = ssl.create_default_context(cafile=cert_file)
    monkeypatch.setattr("shared.outbound.httpx.create_ssl_context", lambda **_: trusting)
    private_targets.WEBHOOK_RETRY_DELAYS = [300]

    with WebhookReceiver() as receiver:
        receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
        port = receiver.server.server_address[1]
        Resolver(monkeypatch, {"hooks.test": ["127.0.0.1"]})
        endpoint = services.endpoint_create(
            workspace=personal_workspace(user),
            actor=user,
            url=f"https://hooks.test:{port}/hooks",
            events=[Event.POST_APPROVED],
        )
        delivery = _approved_post_delivery(user, endpoint, django_capture_on_commit_callbacks)
        outcome = deliver(delivery.pk)

    assert server_names and server_names[0] == "hooks.test"
    if delivered:
        assert outcome == "delivered"
        assert receiver.received[0].headers["Host"] == f"hooks.test:{port}"
    else:
        assert outcome == "failed, retry in 300s" and receiver.received == []
        delivery.refresh_from_db()
        assert delivery.last_error == DeliveryFailure.CONNECTION
