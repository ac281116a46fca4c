"""The scopes a client may hold. Reading and writing are separate on purpose."""

from enum import StrEnum


class Scope(StrEnum):
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    REFERRALS_READ = "referrals:read"
    REFERRALS_WRITE = "referrals:write"
    EVENTS_READ = "events:read"
    SUBSCRIPTIONS_WRITE = "subscriptions:write"
    IDENTITY_READ = "identity:read"
    ADMIN = "admin"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.CASES_READ: "Read the cases your institution may see",
    Scope.CASES_WRITE: "Register and update cases",
    Scope.REFERRALS_READ: "Read referrals sent or received",
    Scope.REFERRALS_WRITE: "Send and work referrals",
    Scope.EVENTS_READ: "Read the event feed and deliveries",
    Scope.SUBSCRIPTIONS_WRITE: "Manage webhook subscriptions",
    Scope.IDENTITY_READ: "Query the identity registry (RNPN) through the hub",
    Scope.ADMIN: "Manage client credentials, replay deliveries, read the audit",
}
