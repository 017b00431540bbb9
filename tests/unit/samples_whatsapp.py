"""Sample values for the templates under messages/templates/whatsapp/."""

SAMPLE: dict[str, object] = {
    "problem": "WHATSAPP_APP_SECRET not set",
}
