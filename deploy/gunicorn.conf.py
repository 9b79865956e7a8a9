# gunicorn settings for one queuekiosk process: gunicorn --config deploy/gunicorn.conf.py queuekiosk.server.wsgi:app
#
# One gevent worker per process. Socket.IO's long-polling needs every request of a client to
# reach the same process, so a centre that wants more processes runs several of these, each on
# its own port (systemd: queuekiosk@8001, queuekiosk@8002, ...), with one PostgreSQL database,
# QUEUEKIOSK_MESSAGE_QUEUE=redis://... and nginx's ip_hash in front (deploy/nginx/queuekiosk.conf).
import os

bind = os.environ.get("QUEUEKIOSK_BIND", "127.0.0.1:8000")
workers = 1
worker_class = "gevent"
worker_connections = 2000  # displays, kiosks, consoles and phones stay connected
timeout = 60
graceful_timeout = 10
keepalive = 75  # browsers keep their connection between requests
accesslog = None  # set "-" to log every request
errorlog = "-"  # gunicorn's own lines; queuekiosk's go to standard error too (server/core/logs.py)
