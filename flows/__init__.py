"""Conversation machines and the domain rules they apply (NIP, NIK, premium, eligibility).

Nothing here imports a chat platform or the database driver: flows take an `Incoming`, the
stored conversation and small repository interfaces, and return `Reply` objects as data.
"""
