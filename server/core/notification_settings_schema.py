"""config.yaml's checks of ``notifications`` (the channels that tell citizens their turn and their
bookings' cancels): pydantic models, part of server/core/config_schema.py's ``Config``. The server holds
them as the plain classes of server/core/notification_settings.py (same names, fields and defaults)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .config_problems import _CrossReferenceError
from .i18n import MAIL_SENDER


class _Open(BaseModel):  # the notifications' settings were never frozen
    model_config = ConfigDict(extra="forbid")


class SmsGatewaySettings(_Open):
    """Any SMS brandname gateway over HTTP. In ``url`` and ``body``, {phone} and {text} are replaced
    (URL-encoded in the URL and in a form body, JSON-escaped in a JSON body)."""

    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "GET"] = "POST"
    headers: dict[str, str] = {}  # e.g. {"Authorization": "Bearer ${SMS_TOKEN}"}
    body: str | None = '{"to": "{phone}", "text": "{text}"}'
    content_type: str = "application/json"
    phone_format: Literal["0", "84", "+84"] = "84"  # 0912345678, 84912345678 or +84912345678
    no_diacritics: bool = False  # "Moi ban den quay 5": one plain SMS instead of a longer Unicode one
    timeout_seconds: float = Field(default=10, gt=0, le=60)


class EmailSettings(_Open):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None  # "${SMTP_PASSWORD}"
    sender: str = Field(pattern=MAIL_SENDER)  # "motcua@xa.gov.vn" or "Trung tâm PVHCC <motcua@xa.gov.vn>"
    timeout_seconds: float = Field(default=10, gt=0, le=60)


class ZaloZnsSettings(_Open):
    """Zalo Notification Service: a template message of the centre's Official Account, approved by
    Zalo, with the parameters number, counter, ahead and site (a cancellation's: its own)."""

    url: str = Field(default="https://business.openapi.zalo.me/message/template", pattern=r"^https?://")
    access_token: str = Field(min_length=1)  # "${ZALO_ACCESS_TOKEN}"
    template_near: str = Field(min_length=1)
    template_called: str = Field(min_length=1)
    template_cancelled: str | None = None  # date, start, code, reason, link: the centre cancelled a booking
    timeout_seconds: float = Field(default=10, gt=0, le=60)


class WebPushSettings(_Open):
    """Web Push (RFC 8030/8291) with VAPID (RFC 8292): the browser's push service carries the message.
    The VAPID key pair is derived from the server's secret key, so every process signs alike."""

    subject: str = Field(default="mailto:admin@localhost", pattern=r"^(mailto:|https://)")  # who to contact
    # the push services a subscription may point at (anything else would let a ticket holder make the
    # server post to any address): host names, "*." for any below one, or "http://host:port" for a lab
    services: list[str] = [
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "*.push.apple.com",
        "*.notify.windows.com",
    ]
    ttl_seconds: int = Field(default=900, ge=0, le=86400)  # a push not delivered by then is dropped
    timeout_seconds: float = Field(default=10, gt=0, le=60)


class NotificationSettings(_Open):
    ahead: int = Field(default=3, ge=0, le=50)  # "near" is sent when this many or fewer are ahead
    channels: list[Literal["sms", "email", "zalo", "push"]] = []  # offered on the tracking page, in this order
    sms: SmsGatewaySettings | None = None
    email: EmailSettings | None = None
    zalo: ZaloZnsSettings | None = None
    push: WebPushSettings | None = None

    @model_validator(mode="after")
    def _each_channel_set_up(self):
        # named by the channel's own settings (/admin says it under their first box: the SMS gateway's address)
        missing = [
            (f"notifications.{n}", f"channel_not_set_up_{n}", {}) for n in self.channels if getattr(self, n) is None
        ]
        if missing:
            raise _CrossReferenceError(missing)
        return self
