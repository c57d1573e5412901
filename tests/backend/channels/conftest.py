"""Fixtures for the provider tests; the servers themselves live in servers.py."""

from channels.servers import (
    certificate,
    http_server,
    links,
    plain_smtp,
    starttls_smtp,
    tls_smtp,
)

__all__ = ["certificate", "http_server", "links", "plain_smtp", "starttls_smtp", "tls_smtp"]
