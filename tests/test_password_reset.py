"""Password reset: an email through the configured backend, pages in the app's look, and throttled."""

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ask_reset(client: Client, email: str, ip: str = "198.51.100.20"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


@override_settings(EMAIL_CONFIGURED=True)
def test_a_reset_by_email_end_to_end_in_the_apps_look(client, mailoutbox):
    user = UserFactory(username="forgetful", email="forgetful@example.com")
    page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in page
    page = client.get(reverse("password_reset")).content.decode()
    assert "Reset your password" in page and "Django administration" not in page
    response = ask_reset(client, "forgetful@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(response["Location"]).content.decode()
    (mail,) = mailoutbox
    assert mail.to == ["forgetful@example.com"] and mail.subject == "Reset your Campaign Posts password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.body)[1]
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-horse-battery", "new_password2": "a-brand-new-horse-battery"},
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-brand-new-horse-battery")
    # The link worked once.
    assert "This link no longer works" in client.get(link, follow=True).content.decode()


@override_settings(EMAIL_CONFIGURED=True, PASSWORD_RESETS_PER_EMAIL_PER_HOUR=3, PASSWORD_RESETS_PER_IP_PER_HOUR=50)
def test_resets_for_one_address_are_throttled_whether_or_not_it_has_an_account(mailoutbox):
    UserFactory(username="target", email="target@example.com")
    for address, sent in (("target@example.com", 3), ("nobody@example.com", 0)):
        before = len(mailoutbox)
        answers = [ask_reset(Client(), address.upper() if n % 2 else address, ip=f"203.0.113.{n}") for n in range(5)]
        assert [response.status_code for response in answers] == [302, 302, 302, 429, 429]
        assert "Too many password reset requests" in answers[-1].content.decode()
        assert len(mailoutbox) - before == sent


@override_settings(EMAIL_CONFIGURED=True, PASSWORD_RESETS_PER_IP_PER_HOUR=4, TRUSTED_PROXY_COUNT=1)
def test_resets_from_one_client_ip_are_throttled_behind_the_proxy(mailoutbox):
    statuses = [
        Client()
        .post(
            reverse("password_reset"),
            {"email": f"user{n}@example.com"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
        .status_code
        for n in range(6)
    ]
    assert statuses == [302, 302, 302, 302, 429, 429]
    other = Client().post(
        reverse("password_reset"),
        {"email": "me@example.com"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert other.status_code == 302


@override_settings(EMAIL_CONFIGURED=False)
def test_without_email_the_page_says_so_and_sends_nothing(client, mailoutbox):
    UserFactory(username="someone", email="someone@example.com")
    assert "not set up on this server" in client.get(reverse("password_reset")).content.decode()
    response = ask_reset(client, "someone@example.com")
    assert response.status_code == 200 and "not set up on this server" in response.content.decode()
    assert mailoutbox == []
