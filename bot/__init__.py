"""The running service: transports, the dispatcher, the outbox sender, the scheduler, the web
server, settings, and the composition root (bot/service.py) that assembles them. The office's
tools (the CLI, imports, exports) are in admin/."""
