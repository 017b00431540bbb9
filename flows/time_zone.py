"""The program's clock: Kendal, and every regency after it so far, keeps Western Indonesia
Time, so "the 5th at 08.00", a salary month and a report's month are read in Asia/Jakarta
whatever zone the server runs in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
