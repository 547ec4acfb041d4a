"""Logs, redaction of secrets and OpenTelemetry spans: used by every layer above, using none of them."""
