"""Extensions created once and bound to the app in the factory."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO

socketio = SocketIO()
# only the routes that ask for it are limited (issuing tickets); the storage is set in the factory
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
