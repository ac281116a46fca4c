"""Webhook delivery mechanics: pure rules and one HTTP attempt, no database, no FastAPI.

The worker composes them for each delivery attempt:

    urlpolicy.resolve_webhook_target  refuse non-https, non-public targets (again at
                                      send); the address judged, to connect to
    signing.webhook_headers           Standard Webhooks headers, one per secret
    sender.send                       one POST to that address (the URL's name kept
                                      for Host and TLS); never follows redirects,
                                      never raises on I/O
    backoff.next_attempt_at           when to try again, or None to dead-letter

`sender.AttemptResult.outcome` tells the worker what to do next: `delivered` (2xx),
`gone` (410: disable the subscription) or `retry` (ask `backoff` when).
"""
