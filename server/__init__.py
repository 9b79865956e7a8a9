"""The central server: app factory, models, queue engine, REST API, Socket.IO, CLI."""
