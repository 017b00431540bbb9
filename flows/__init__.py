"""Conversation machines, the domain's rules (NIP, NIK, premium, payroll), and its words.

Nothing here imports a chat platform or the database driver: flows take an `Incoming`, the
stored conversation and small repository interfaces (storage.interfaces), and return
`Reply` objects as data.

The vocabulary (flows/enrollment_status.py, roles.py, audiences.py, states.py, masking.py,
time_zone.py, months.py) holds the words every layer shares and no rule: storage/ and
messages/ may import it, and nothing else of flows/ (tests/test_architecture.py).
"""
