"""Who may use ContactPoint: accounts, CMS clients, sign-in, sessions and the acting principal."""

from db.access.authenticate import (
    account_problem,
    normalise_username,
    principal_for_client,
    principal_for_session,
    principal_of,
)
from db.access.clients import (
    IssuedKey,
    client_problems,
    create_client,
    describe_client,
    list_clients,
    revoke_client,
)
from db.access.errors import (
    AccessError,
    AccountLocked,
    Forbidden,
    NotAuthenticated,
    TooManyAttempts,
)
from db.access.principal import Principal
from db.access.roles import CLIENT_ROLES, Role, roles_from
from db.access.sessions import (
    RESULTS_TOKEN,
    SessionLimits,
    revoke_session,
    revoke_user_sessions,
    save_search,
    saved_search,
)
from db.access.sign_in import Attempt, SignedIn, sign_in
from db.access.users import (
    Enrolment,
    NewUser,
    account_problems,
    create_user,
    demo_code,
    describe_user,
    get_user,
    list_users,
    reinstate_user,
    reset_user,
    suspend_user,
    suspendable_user,
)

__all__ = [
    "CLIENT_ROLES",
    "RESULTS_TOKEN",
    "AccessError",
    "AccountLocked",
    "Attempt",
    "Enrolment",
    "Forbidden",
    "IssuedKey",
    "NewUser",
    "NotAuthenticated",
    "Principal",
    "Role",
    "SessionLimits",
    "SignedIn",
    "TooManyAttempts",
    "account_problem",
    "account_problems",
    "client_problems",
    "create_client",
    "create_user",
    "demo_code",
    "describe_client",
    "describe_user",
    "get_user",
    "list_clients",
    "list_users",
    "normalise_username",
    "principal_for_client",
    "principal_for_session",
    "principal_of",
    "reinstate_user",
    "reset_user",
    "revoke_client",
    "revoke_session",
    "revoke_user_sessions",
    "roles_from",
    "save_search",
    "saved_search",
    "sign_in",
    "suspend_user",
    "suspendable_user",
]
