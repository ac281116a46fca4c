"""Client credentials, access tokens and the caller's identity on each request."""
