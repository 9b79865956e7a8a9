"""The ways a message reaches a citizen (server/core/notifications.py says what and when): an SMS gateway
over HTTP, e-mail over SMTP, Zalo ZNS, and Web Push with VAPID: the message encrypted by http-ece (RFC 8291)
and signed by py-vapid (RFC 8292), the two libraries pywebpush itself sends with (pywebpush would also load
aiohttp and requests into the server).

They share one small interface (``Channel.send``) and are chosen by the site's settings (config.yaml
``notifications:``, server/core/notification_settings.py): ``channel`` makes one. Secrets in those settings
are written as ``${ENVIRONMENT_VARIABLE}`` and read when sending, so the setup (which supervisors can read)
holds none. An SMS is at most two parts (server/core/sms_length.py): ``sms_text``.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import secrets
import time
import unicodedata
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from . import sms_length

if TYPE_CHECKING:
    from .notification_settings import (
        EmailSettings,
        NotificationSettings,
        SmsGatewaySettings,
        WebPushSettings,
        ZaloZnsSettings,
    )
    from .vapid import VapidKey


class ChannelError(Exception):
    """The message did not go out; the text says why (no address in it)."""


@dataclass(frozen=True)
class Message:
    kind: str  # near | next | called
    text: str  # in the citizen's language
    subject: str
    params: dict  # number, counter, ahead, site
    # for an SMS: shorter forms of ``text`` (of ``sms``, if any), longest first, the first that fits two parts
    # sent (sms_length.py)
    shorter: tuple[str, ...] = ()
    sms: str | None = None  # an SMS's own text, where it differs from ``text`` (the site's short SMS name)


class Channel(ABC):
    """One way of reaching a citizen. ``send`` returns once the message was accepted, else raises ChannelError."""

    def __init__(self, settings):
        self.settings = settings

    @abstractmethod
    def send(self, address: str, message: Message) -> None: ...


def _secret(value: str | None) -> str | None:
    """``${NAME}`` parts replaced from the environment; a missing variable is an error, never an empty secret."""
    if value is None:
        return None

    def variable(match):
        if match.group(1) not in os.environ:
            raise ChannelError(f"the environment variable {match.group(1)} is not set")
        return os.environ[match.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", variable, value)


def _fill(template: str, phone: str, text: str, escape) -> str:
    """``template`` with {phone}, {text} and each ``${NAME}`` (from the environment) put in, each escaped."""
    values = {"{phone}": phone, "{text}": text}
    return re.sub(
        r"\{phone\}|\{text\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}",
        lambda match: escape(values[match.group(0)] if match.group(0) in values else _secret(match.group(0))),
        template,
    )


def _post(request: urllib.request.Request, timeout: float) -> None:
    import urllib.error
    import urllib.request

    from .tls import https_opener

    try:
        with https_opener().open(request, timeout=timeout) as response:  # urlopen's, with the process's TLS context
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise ChannelError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ChannelError(f"{type(error).__name__}: {getattr(error, 'reason', error)}") from None


def plain(text: str) -> str:
    """Vietnamese without diacritics ("Mời Ông/Bà đến quầy" -> "Moi Ong/Ba den quay")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def sms_text(message: Message, no_diacritics: bool = False) -> str:
    """The text an SMS gateway sends for ``message``: the first of its text (its ``sms`` text, if any) and
    ``shorter`` forms that fits two parts measured as it goes (``no_diacritics``: the gateway's, ``plain``: two parts hold 306, not 134)."""
    texts = (message.sms or message.text, *message.shorter)
    return sms_length.fitting(tuple(map(plain if no_diacritics else str, texts)))


class SmsGateway(Channel):
    def send(self, address: str, message: Message) -> None:
        import urllib.request

        s: SmsGatewaySettings = self.settings
        phone = {"0": address, "84": "84" + address[1:], "+84": "+84" + address[1:]}[s.phone_format]
        text = sms_text(message, s.no_diacritics)
        # a gateway's key may be in the URL or the body (eSMS: ...?ApiKey=${ESMS_KEY}): read when sending,
        # and escaped there as the phone and the text are
        url = _fill(s.url, phone, text, lambda value: urllib.parse.quote(value, safe=""))
        data = None
        if s.method == "POST" and s.body is not None:
            if "json" in s.content_type:
                escape = lambda value: json.dumps(value, ensure_ascii=False)[1:-1]  # noqa: E731
            elif "x-www-form-urlencoded" in s.content_type:
                escape = urllib.parse.quote_plus
            else:
                escape = str
            data = _fill(s.body, phone, text, escape).encode()
        headers = {name: _secret(value) for name, value in s.headers.items()}
        if data is not None:
            headers.setdefault("Content-Type", s.content_type)
        _post(urllib.request.Request(url, data=data, headers=headers, method=s.method), s.timeout_seconds)


class Email(Channel):
    def send(self, address: str, message: Message) -> None:
        import smtplib

        from .tls import smtp_context

        s: EmailSettings = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.sender, address, message.subject
        # RFC 5322 asks for both; a receiving server may refuse a message without them or mark it as spam.
        # (the id's domain is the sender's: no look-up of this machine's name on a LAN without DNS)
        domain = email.utils.parseaddr(s.sender)[1].rpartition("@")[2] or "queuekiosk.invalid"
        mail["Date"], mail["Message-ID"] = email.utils.formatdate(localtime=True), email.utils.make_msgid(domain=domain)
        mail.set_content(message.text)
        try:
            if s.security == "ssl":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=smtp_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.security == "starttls":
                    client.starttls(context=smtp_context())
                if s.username:
                    client.login(s.username, _secret(s.password) or "")
                client.send_message(mail)
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"SMTP: {type(error).__name__}: {error}"[:300]) from None


class ZaloZns(Channel):
    def send(self, address: str, message: Message) -> None:
        import urllib.error
        import urllib.request

        from .tls import https_opener

        s: ZaloZnsSettings = self.settings
        template = {"called": s.template_called, "cancelled": s.template_cancelled}.get(message.kind, s.template_near)
        body = {
            "phone": "84" + address[1:],
            "template_id": template,
            "template_data": {k: str(v) for k, v in message.params.items()},
            "tracking_id": secrets.token_hex(8),
        }
        request = urllib.request.Request(
            s.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "access_token": _secret(s.access_token)},
        )
        try:
            with https_opener().open(request, timeout=s.timeout_seconds) as response:
                answer = json.loads(response.read(65536) or b"{}")
        except urllib.error.HTTPError as error:
            raise ChannelError(f"HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ChannelError(f"{type(error).__name__}: {getattr(error, 'reason', error)}") from None
        if answer.get("error", 0) != 0:  # Zalo answers 200 with {"error": -124, "message": ...} on a refusal
            raise ChannelError(f"Zalo error {answer.get('error')}: {answer.get('message')}"[:300])


class WebPush(Channel):
    def __init__(self, settings, vapid: VapidKey):
        super().__init__(settings)
        self.vapid = vapid

    def send(self, address: str, message: Message) -> None:
        import urllib.request

        import http_ece
        from cryptography.hazmat.primitives.asymmetric import ec

        from .vapid import unb64

        s: WebPushSettings = self.settings
        subscription = json.loads(address)
        payload = json.dumps(
            {"title": message.subject, "body": message.text, "kind": message.kind, **message.params}, ensure_ascii=False
        ).encode()
        body = http_ece.encrypt(  # RFC 8291: only the subscribed browser can read it
            payload,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=unb64(subscription["keys"]["p256dh"]),
            auth_secret=unb64(subscription["keys"]["auth"]),
            version="aes128gcm",
        )
        request = urllib.request.Request(
            subscription["endpoint"],
            data=body,
            method="POST",
            headers={
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(s.ttl_seconds),
                "Urgency": "high",
                "Authorization": self.vapid.authorization(subscription["endpoint"], s.subject, time.time()),
            },
        )
        _post(request, s.timeout_seconds)


CHANNELS: dict[str, type[Channel]] = {"sms": SmsGateway, "email": Email, "zalo": ZaloZns, "push": WebPush}


def channel(settings: NotificationSettings, name: str, vapid: VapidKey | None = None) -> Channel:
    if name == "push":
        return WebPush(settings.push, vapid)
    return CHANNELS[name](getattr(settings, name))
