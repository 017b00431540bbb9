"""The office's tools: the command line, imports, exports and the demo data."""
