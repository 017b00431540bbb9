"""The WhatsApp channel over the Cloud API (pywa's async client): webhooks in, messages out.

Only translation lives here, as in bot/telegram/. One concept per module:

- `api`: the settings the channel needs, pywa's client on our own httpx client, and a
  message id as stored.
- `webhook`: a verified webhook body as `Incoming` messages and `DeliveryReport`s, and the
  checks that prove Meta sent it (signature, verify token).
- `layout`: WhatsApp's rules for an `OutgoingMessage`: buttons or a paged list, template
  parameters, pieces of long texts, the 24-hour window.
- `errors`: the Cloud API's errors mapped once into `TransientSendError`,
  `PermanentSendError` or `RecipientUnreachable`.
- `transport`: `WhatsAppTransport`, which sends by those rules.

Personal data (texts, numbers) is never logged here: logs name error codes and kinds only, all
under the logger "bot.whatsapp".
"""
