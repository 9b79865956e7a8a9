# gunicorn settings for one queuekiosk process: gunicorn --config deploy/gunicorn.conf.py queuekiosk.server.wsgi:app
#
# One gevent worker per process. Socket.IO's long-polling needs every request of a client to
# reach the same process, so a centre that wants more processes runs several of these, each on
# its own port (systemd: queuekiosk@8001, queuekiosk@8002, ...), with one PostgreSQL database,
# QUEUEKIOSK_MESSAGE_QUEUE=redis://... and nginx's ip_hash in front (deploy/nginx/queuekiosk.conf).
import os

from queuekiosk.server.gunicorn_worker import refuse_a_busy_port

# the systemd unit gives each process its port on the command line (--bind ${QUEUEKIOSK_HOST}:%i), which wins
bind = os.environ.get("QUEUEKIOSK_BIND", "127.0.0.1:8000")
workers = 1
# gunicorn's gevent worker with serve's connection limits: a connection on which nothing can be read
# or written for twice the Socket.IO ping interval plus 5 s (25 s) is closed, so a client that stopped
# reading or answering does not keep its socket (server/gunicorn_worker.py)
worker_class = "queuekiosk.server.gunicorn_worker.GeventWorker"
worker_connections = 2000  # displays, kiosks, consoles and phones stay connected
timeout = 60
graceful_timeout = 10
keepalive = 25  # keep connections between requests; the worker waits 2 x ping + 5 s (25 s) for the next
accesslog = None  # set "-" to log every request
# no gunicornc control socket: several processes of one machine would share ~/.gunicorn/gunicorn.ctl, and
# the user queuekiosk has no home to make it in (an ERROR line at every start); systemd starts and stops them
control_socket_disable = True
errorlog = "-"  # gunicorn's own lines; queuekiosk's go to standard error too (server/core/logs.py)
# a port in use stops gunicorn at once with serve's one sentence, not its five tries and twelve lines
on_starting = refuse_a_busy_port
