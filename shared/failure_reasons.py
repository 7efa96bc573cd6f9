"""Why a post failed: the one list of reason codes, and what a marketer is told for each.

The engine puts a code on every provider error (generation.providers.base re-exports
FailureReason) and stores it on the failed post (Post.failure_reason). Metrics, the failures
table and the admin's grouping read the code; marketers read the sentence. The provider's own
words stay in Post.error_message, shown only in the admin and the logs.
"""

from enum import StrEnum


class FailureReason(StrEnum):
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    CONTENT_POLICY = "content_policy"
    AUTH = "auth"
    QUOTA = "quota"
    BAD_REQUEST = "bad_request"
    MALFORMED = "malformed"


# Short labels: the admin's filter and grouping.
LABELS: dict[FailureReason, str] = {
    FailureReason.RATE_LIMITED: "Rate limited",
    FailureReason.TIMEOUT: "Timed out",
    FailureReason.CONNECTION: "Could not connect",
    FailureReason.SERVER_ERROR: "Provider error",
    FailureReason.CONTENT_POLICY: "Content policy",
    FailureReason.AUTH: "Credentials refused",
    FailureReason.QUOTA: "Quota used up",
    FailureReason.BAD_REQUEST: "Request refused",
    FailureReason.MALFORMED: "Unusable answer",
}

FAILURE_REASON_CHOICES = [(reason.value, LABELS[reason]) for reason in FailureReason]

# What a marketer reads on a failed post and in a batch's summary.
SENTENCES: dict[FailureReason, str] = {
    FailureReason.RATE_LIMITED: "The AI service was too busy with our requests. Retrying later usually works.",
    FailureReason.TIMEOUT: "The AI service took too long to answer. Retrying usually works.",
    FailureReason.CONNECTION: "We could not reach the AI service. Retrying usually works once it is back.",
    FailureReason.SERVER_ERROR: "The AI service had a problem on its side. Retrying usually works.",
    FailureReason.CONTENT_POLICY: "The AI service declined this post under its content rules. Try rewording the brief.",
    FailureReason.AUTH: "The AI service did not accept our credentials. Your administrator needs to check them.",
    FailureReason.QUOTA: "Our account with the AI service used up its quota. Your administrator needs to top it up.",
    FailureReason.BAD_REQUEST: "The AI service refused the request. Your administrator can see the details.",
    FailureReason.MALFORMED: "The AI service sent back something we could not use. Retrying usually works.",
}
# A failure that carries no code: an error of ours, not the provider's.
UNKNOWN_SENTENCE = "Something went wrong on our side. Retrying usually works; if not, tell your administrator."


def failure_sentence(code: str) -> str:
    """The marketer's sentence for a stored reason code ("" or an unknown code: ours)."""
    try:
        return SENTENCES[FailureReason(code)]
    except ValueError:
        return UNKNOWN_SENTENCE


def failure_label(code: str) -> str:
    try:
        return LABELS[FailureReason(code)]
    except ValueError:
        return "Internal error"
