"""Sign-in behind a proxy: the lockout keys on the real client IP, and password spraying is throttled."""

import ipaddress

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from shared.client_ip import client_ip
from tests.factories import UserFactory

BALANCER = "10.0.0.2"
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


def sign_in(client: Client, username: str, password: str, *, via: str, forwarded: str = ""):
    headers = {"REMOTE_ADDR": via}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_an_attacker_locks_only_themselves_out():
    UserFactory(username="victim")
    attacker = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The attacker writes an X-Forwarded-For of their own; the balancer appends the address it saw.
        spoofed = f"{VICTIM}, {ATTACKER}" if attempt % 2 else ATTACKER
        sign_in(attacker, "victim", f"wrong-{attempt}", via=BALANCER, forwarded=spoofed)
    assert sign_in(attacker, "victim", "correct-horse-battery", via=BALANCER, forwarded=ATTACKER).status_code == 429
    # The victim comes through the same balancer, from their own address: not locked out.
    victim = Client()
    assert sign_in(victim, "victim", "correct-horse-battery", via=BALANCER, forwarded=VICTIM).status_code == 302


@pytest.mark.django_db
def test_without_the_proxy_setting_everyone_behind_the_balancer_is_one_client():
    """What the setting fixes: with it unset, the balancer's address is every client's."""
    UserFactory(username="victim")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "victim", f"wrong-{attempt}", via=BALANCER, forwarded=ATTACKER)
    assert sign_in(Client(), "victim", "correct-horse-battery", via=BALANCER, forwarded=VICTIM).status_code == 429


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1, SIGN_IN_FAILURES_PER_IP=8)  # 20 by default; each failure hashes a password
def test_password_spraying_from_one_ip_is_throttled_across_usernames():
    """4 wrong passwords on each of 25 usernames (under axes' 5 per username) now stops at the per-IP budget."""
    UserFactory(username="target")
    answers = []
    for n in range(25):
        for attempt in range(4):
            answers.append(sign_in(Client(), f"user{n}", f"guess-{attempt}", via=BALANCER, forwarded=ATTACKER))
    refused = [response.status_code for response in answers].count(429)
    assert refused == len(answers) - settings.SIGN_IN_FAILURES_PER_IP
    page = answers[-1].content.decode()
    assert "Too many failed sign-in attempts" in page
    # Even a right password is refused from that IP now; another IP signs in as usual.
    assert sign_in(Client(), "target", "correct-horse-battery", via=BALANCER, forwarded=ATTACKER).status_code == 429
    assert sign_in(Client(), "target", "correct-horse-battery", via=BALANCER, forwarded=VICTIM).status_code == 302


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1, SIGN_IN_FAILURES_PER_IP=6)
def test_a_successful_sign_in_of_their_own_does_not_reset_an_attackers_ip_budget():
    UserFactory(username="mine")
    for n in range(settings.SIGN_IN_FAILURES_PER_IP):
        sign_in(Client(), f"user{n}", "guess", via=BALANCER, forwarded=ATTACKER)
        if n % 3 == 0:
            sign_in(Client(), "mine", "correct-horse-battery", via=BALANCER, forwarded=ATTACKER)
    assert sign_in(Client(), "mine", "correct-horse-battery", via=BALANCER, forwarded=ATTACKER).status_code == 429


def request_from(remote: str, forwarded: str = ""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("count", "cidrs", "remote", "forwarded", "expected"),
    [
        # No proxy configured: X-Forwarded-For is the client's own text and is ignored.
        (0, [], ATTACKER, VICTIM, ATTACKER),
        # Two proxies: the client is two places left of REMOTE_ADDR, whatever it wrote further left.
        (2, [], BALANCER, f"1.2.3.4, {ATTACKER}, 10.0.0.9", ATTACKER),
        (1, [], BALANCER, "", BALANCER),
        (2, [], BALANCER, ATTACKER, BALANCER),  # fewer hops than proxies: not through our proxies
        (1, [], BALANCER, "not-an-ip", BALANCER),
        # Trusted networks: the first address from the right outside them.
        (0, ["10.0.0.0/8"], BALANCER, f"1.2.3.4, {ATTACKER}, 10.1.2.3", ATTACKER),
        (0, ["10.0.0.0/8"], ATTACKER, VICTIM, ATTACKER),  # not from our proxy: its header means nothing
        (0, ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", f"{VICTIM}, 10.9.9.9", VICTIM),
        (0, ["10.0.0.0/8"], BALANCER, "garbage, 10.1.1.1", "10.1.1.1"),
    ],
)
def test_client_ip(count, cidrs, remote, forwarded, expected):
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    with override_settings(TRUSTED_PROXY_COUNT=count, TRUSTED_PROXY_NETWORKS=networks):
        assert client_ip(request_from(remote, forwarded)) == expected
