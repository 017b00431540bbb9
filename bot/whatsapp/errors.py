"""The Cloud API's errors mapped once into what the sender needs (transient or not, and how
long to wait), by code (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)."""

from __future__ import annotations

from typing import Final

from pywa.errors import (
    AuthorizationError,
    IntegrityError,
    MessageUndeliverable,
    ThrottlingError,
    WhatsAppError,
)

from bot.transport import (
    PermanentSendError,
    RecipientUnreachable,
    SendError,
    TransientSendError,
)

UNREACHABLE_CODES: Final = frozenset({131026})  # not on WhatsApp, old app, terms not accepted
RATE_WAITS: Final = {130429: 1.0, 131056: 6.0, 131048: 60.0, 4: 60.0, 80007: 60.0}
SERVER_CODES: Final = frozenset({1, 2, 131000, 131016, 131053, 131057, 133004})
OPERATOR_WAIT: Final = 300.0  # an expired token or a locked account needs a person


def send_error(error: WhatsAppError) -> SendError:
    """A Cloud API error as the sender needs it. The text names the code and pywa's class,
    never the API's message (it may quote the number or the text sent)."""
    code = error.code
    what = f"whatsapp {code} {type(error).__name__}"
    if isinstance(error, MessageUndeliverable) or code in UNREACHABLE_CODES:
        return RecipientUnreachable(what)
    if isinstance(error, ThrottlingError) or code in RATE_WAITS:
        return TransientSendError(what, retry_after=RATE_WAITS.get(code, 60.0))
    if isinstance(error, AuthorizationError | IntegrityError):
        return TransientSendError(what, retry_after=OPERATOR_WAIT)
    if code in SERVER_CODES or error.is_transient or (error.status_code or 0) >= 500:
        return TransientSendError(what)
    return PermanentSendError(what)
