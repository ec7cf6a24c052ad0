"""Authentication and authorization: tokens, RBAC, impersonation, access reviews."""
