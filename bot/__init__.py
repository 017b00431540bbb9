"""Transports, the dispatcher, the outbox sender, settings, the CLI: everything that touches
a platform or assembles the application."""
