"""The web layer: the app factory, the REST API, Socket.IO and the pages. It composes the core and the device parts."""
