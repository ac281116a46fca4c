"""The development signing key.

NOTE: this key is public (it is in the source); it exists so that `make run` works on a
fresh machine. Settings refuse to start in production mode while it is in use.
"""

DEVELOPMENT_SIGNING_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg73Kv/NafeAsMc6H4
CfEx+ZhcRkbt5V81b8korhqGTnWhRANCAATzxWBKeDkQeBsSkUndy1L/cbGkNlsb
4dYsmNpvUkRoNNW1Jt6yNfapm4g/ijSXnlB9s5XiQEdtO5NbMyo7WVdB
-----END PRIVATE KEY-----
"""
