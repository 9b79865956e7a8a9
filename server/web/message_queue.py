"""Socket.IO's Redis message queue, bounded in time and made whole after an outage.

With several processes (``QUEUEKIOSK_MESSAGE_QUEUE=redis://…``) every live message goes to this
process's own clients at once and to the other processes through Redis. python-socketio's
RedisManager did that with no time limit and slow recovery:

- its publish, made inside the request that issued a ticket or called a number, had no socket
  timeout: a Redis that accepts connections and never answers (a stopped process, a paused VM, a
  host whose packets are dropped) held every issuing and counter request until Redis came back;
- it logged two ERROR lines for every message while Redis was down (hundreds a second);
- its listener waited 1, 2, 4 … up to 60 s between attempts to subscribe again, so for up to a
  minute after Redis returned this process heard nothing of the others, even though its screens had
  been told to take a fresh state already: a call made meanwhile never reached them.

Here a publish waits at most ``TIMEOUT_SECONDS`` and, once one failed, the messages of the next
``RETRY_SECONDS`` are dropped at once (one warning per outage); the first publish that goes through
again tells every screen of every process ``resync``. The listener tries again every
``RETRY_SECONDS``, waits for Redis to confirm the subscription, and only then tells this process's
own screens ``resync``: a snapshot taken after that misses nothing published later.
Every read from Redis has the same bound. ``drop_listener`` (called by server/web/resync.py when
Redis stops answering pings) ends a subscription whose connection went silent.
"""

from __future__ import annotations

import logging
import time

import redis
import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("queuekiosk.message_queue")

TIMEOUT_SECONDS = 1.0  # the longest a request waits for Redis to take one message
RETRY_SECONDS = 1.0  # after a failure: messages dropped at once, the listener tries again this often
RESYNC = {"reason": "message_queue"}


def redis_client(url: str, **options) -> redis.Redis:
    # one attempt per call (redis-py would retry three times with back-off): the caller decides
    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0), **options)


class BoundedRedisManager(socketio.RedisManager):
    def __init__(self, url: str, channel: str = "flask-socketio"):
        super().__init__(url, channel=channel)
        self._publisher = redis_client(url, socket_timeout=TIMEOUT_SECONDS)
        self._publish_again_at = 0.0
        self.dropped = 0  # messages not sent to the other processes since the last that was

    def _publish(self, data):
        if time.monotonic() < self._publish_again_at:
            self.dropped += 1
            return None
        try:
            result = self._publisher.publish(self.channel, self.json.dumps(data))
        except redis.RedisError as error:
            self._publish_again_at = time.monotonic() + RETRY_SECONDS
            if not self.dropped:
                log.warning(
                    "the message queue (%s) takes no messages (%s): calls and tickets go on, but screens "
                    "connected to other server processes do not hear of them until it answers again; then "
                    "every screen takes a fresh state. Start Redis (systemctl start redis-server) or check "
                    "QUEUEKIOSK_MESSAGE_QUEUE.",
                    self.redis_url.split("@")[-1],
                    error,
                )
            self.dropped += 1
            return None
        if self.dropped:
            self.resync_everyone()
        return result

    def resync_everyone(self) -> None:
        """After messages were dropped: every screen of every process takes a fresh state."""
        dropped, self.dropped = self.dropped, 0
        log.warning(
            "the message queue takes messages again (%d were not sent to the other processes): every "
            "screen takes a fresh state",
            dropped,
        )
        self.emit("resync", RESYNC, namespace="/")  # here at once, and through Redis to the others

    def drop_listener(self) -> None:
        """End the subscription's connection (Redis stopped answering): the listener connects again."""
        pubsub = self.pubsub
        if pubsub is not None and pubsub.connection is not None:
            pubsub.connection.disconnect()

    def _redis_listen_with_retries(self):
        lost = False
        while True:
            pubsub = None
            try:
                # every read bounded (a Redis that went silent cannot hold the listener), and the wait
                # for the next message a poll of at most a second at a time
                client = redis_client(self.redis_url, socket_timeout=TIMEOUT_SECONDS, socket_keepalive=True)
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                confirmed = pubsub.get_message(timeout=TIMEOUT_SECONDS)
                if not confirmed or confirmed.get("type") != "subscribe":
                    raise redis.ConnectionError("Redis did not confirm the subscription")
                self.pubsub = pubsub
                if lost:
                    lost = False
                    log.warning("the message queue delivers again: every screen of this process takes a fresh state")
                    self.emit("resync", RESYNC, namespace="/", ignore_queue=True)  # this process's own
                while pubsub.subscribed:
                    message = pubsub.get_message(timeout=TIMEOUT_SECONDS)
                    if message is not None:
                        yield message
                raise redis.ConnectionError("the subscription ended")
            except Exception as error:  # noqa: BLE001 - whatever ended the subscription, subscribe again
                if not lost:
                    log.warning(
                        "the message queue (%s) does not deliver (%s): events of other processes do not "
                        "reach this process's screens until it does",
                        self.redis_url.split("@")[-1],
                        error,
                    )
                lost = True
            self.pubsub = None
            if pubsub is not None:
                try:
                    pubsub.close()
                except Exception:  # noqa: BLE001, S110 - its connection is gone already
                    pass
            time.sleep(RETRY_SECONDS)
