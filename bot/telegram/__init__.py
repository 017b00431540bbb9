"""The Telegram channel over python-telegram-bot: updates in, rendered messages out.

One concept per module:

- `api`: the Bot API client: the token and its checks, the `telegram.Bot` built from the
  settings (PTB's `Application` is not used: only its `.bot` was), PTB's time periods.
- `updates`: a `telegram.Update` as a frozen `Incoming`, and which updates reach the
  dispatcher at all.
- `keyboards`: the reply markup an `OutgoingMessage` asks for.
- `transport`: `TelegramTransport`, the sending half (`sendMessage`, `sendPhoto`) with
  Telegram's errors mapped once, and the acknowledgement of a pressed button.
- `polling`: long polling that confirms an update only once it is committed.
- `webhook`: a pushed update processed like a polled one, and the secret header's check.
- `channel`: `TelegramBot`, the channel running in this process (transport, polling, the
  outbox sender beside it), and `set_telegram_webhook` for `asn-peduli run --webhook`.

`asn-peduli worker` uses only the sending half (bot/service.py); `asn-peduli serve` receives
webhook updates (bot/web.py). Personal data (texts, phone numbers from contacts) is never
logged here; the logs name only update kinds and error classes, all under the logger
"bot.telegram" (the channel's one name for operators to filter on).
"""
