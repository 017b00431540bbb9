"""Every word a user reads: Jinja2 templates in Bahasa Indonesia and the renderer."""
