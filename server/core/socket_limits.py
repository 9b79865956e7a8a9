"""What one Socket.IO connection may send (anyone on the LAN can connect): a page subscribes to one to
three rooms and a kiosk agent sends a few events a minute. Past the rate the server drops the connection
(server/web/realtime.py); the kiosk agent keeps under it (kiosk/agent.py), also while it catches up a
backlog of tickets on a printer that takes each at once."""

EVENTS_BURST = 40
EVENTS_PER_SECOND = 5.0
