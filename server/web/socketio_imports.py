"""Flask-SocketIO imported (with Flask, Werkzeug, python-socketio and python-engineio under it) without
what these packages import at their top for what a serving process never runs: ~1.9 MB of an idle
server (issue 21). Imported by server/web/extensions.py before any of them."""

import importlib
import sys
import types

# {the importing module: {module it imports from: the names}}: Werkzeug's development server
# (http.server with it), for Flask.run and `flask run`; Flask-SocketIO's imports for SocketIO.run
# (Werkzeug's debugger, multiprocessing with it, and its reloader) and for SocketIO.test_client (Flask's
# and click's test clients, pdb with them); python-socketio's and python-engineio's clients and asyncio
# servers. A library whose top imports another name fails at start, loudly (tests/test_socketio_imports.py).
# What start-up would not show: a library that binds one of these modules itself (`from werkzeug import
# serving`), or imports from it in another thread, while Flask-SocketIO imports, would keep the empty
# stand-in module and fail only at its first use. So after an upgrade of Flask, Werkzeug, Flask-SocketIO,
# python-socketio or python-engineio, re-check what their tops import from these modules: `grep -rn
# "serving\|_reloader\|debug\|client\|async_" site-packages/{flask,werkzeug,flask_socketio,socketio,engineio}`.
_NOT_SERVED = {
    "werkzeug": {"werkzeug.serving": ("run_simple",)},  # its development server (http.server with it)
    "flask.app": {"werkzeug.serving": ("is_running_from_reloader",)},  # for Flask.run
    "flask.cli": {"werkzeug.serving": ("is_running_from_reloader",)},  # for flask run
    "flask_socketio": {
        "werkzeug.debug": ("DebuggedApplication",),
        "werkzeug._reloader": ("run_with_reloader",),
        # a function for good where Flask-SocketIO is imported here (not the class: no isinstance, no
        # subclass); use `socketio.test_client(app)`, which calls it
        "flask_socketio.test_client": ("SocketIOTestClient",),
    },
    "socketio": {
        "socketio.client": ("Client",),
        "socketio.simple_client": ("SimpleClient",),
        "socketio.async_client": ("AsyncClient",),
        "socketio.async_simple_client": ("AsyncSimpleClient",),
        "socketio.async_server": ("AsyncServer",),
        "socketio.async_manager": ("AsyncManager",),
        "socketio.async_namespace": ("AsyncNamespace", "AsyncClientNamespace"),
        "socketio.async_redis_manager": ("AsyncRedisManager",),
        "socketio.async_aiopika_manager": ("AsyncAioPikaManager",),
        "socketio.asgi": ("ASGIApp",),
    },
    "engineio": {
        "engineio.client": ("Client",),
        "engineio.async_server": ("AsyncServer",),
        "engineio.async_client": ("AsyncClient",),
        "engineio.async_drivers.asgi": ("ASGIApp",),
    },
}


def _import_flask_socketio():
    """Flask-SocketIO imported without ``_NOT_SERVED``'s modules (an importer imported before has them
    already). Each name is a stand-in while they import, which imports the real one when called (what
    Werkzeug, Flask and Flask-SocketIO use inside their functions); python-socketio's and
    python-engineio's public classes are then taken off the package, and its ``__getattr__`` imports
    each at its first use. The modules are left unimported: a later import of one is the real one."""
    stand_ins = {}
    for importer, modules in _NOT_SERVED.items():
        if importer in sys.modules:
            continue
        for module, names in modules.items():
            if module not in sys.modules:
                stand_ins[module] = sys.modules[module] = types.ModuleType(module)
            if module in stand_ins:
                for name in names:
                    setattr(stand_ins[module], name, _imported_when_called(module, name))
    try:
        import flask_socketio  # noqa: F401
    finally:  # after an ImportError too: whoever carries on gets the real classes
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]
        for importer in ("socketio", "engineio"):
            if importer not in sys.modules:
                continue
            lazy = {
                name: module
                for module, names in _NOT_SERVED[importer].items()
                if module in stand_ins
                for name in names
                if getattr(sys.modules[importer], name, None) is getattr(stand_ins[module], name)
            }
            if lazy:
                _found_at_first_use(sys.modules[importer], lazy)


def _imported_when_called(module: str, name: str):
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def _found_at_first_use(package, lazy: dict[str, str]) -> None:
    """``package``'s names of ``lazy`` ({name: its module}) imported from their modules at their first use."""
    for name in lazy:
        delattr(package, name)

    def __getattr__(name):  # noqa: N807 - a module's (PEP 562)
        if name not in lazy:
            raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(lazy[name]), name)
        setattr(package, name, value)
        return value

    package.__getattr__ = __getattr__


_import_flask_socketio()
