"""``contactnow watch``'s lines on stderr: a failed poll says the error as one harmless line."""

from __future__ import annotations

from datetime import datetime, timezone

from contactnow_async._cli._watch import health_line
from contactnow_async.watch import Health, HealthEvent


def test_a_failed_polls_error_text_is_printed_escaped() -> None:
    # The error's text can be the API's own: it went to stderr with its newline and escapes.
    health = Health(
        polls=1, failures=1, consecutive_failures=1, last_error="APIError: No\nway \x1b[2J\u202e"
    )
    line = health_line(HealthEvent(health=health, observed_at=datetime.now(timezone.utc)))
    assert line == "poll failed (1 in a row): APIError: No\\nway \\x1b[2J\\u202e"
