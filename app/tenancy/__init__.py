"""Tenancy: the per-request core that decides which database serves an organization.

urls.py      parse, validate, mask, and the stored secret forms (plain, env:, enc:v1:)
targets.py   where a tenant URL may point (checked on save and on every new connection)
engines.py   the per-process engine registry (LRU, bounded pools, failure memory)
schema.py    a database's Alembic revision against the code's head
probe.py     the connectivity test and its codes
scoping.py   the session class that scopes every tenant query to one organization
counts.py    row counts that stay cheap (exact when small, the planner's estimate otherwise)
service.py   the Tenancy service: per-organization session selection and the fallback policy
hooks.py     the Flask hooks: g.org, g.tenant_session, g.tenant_route, and the opt-ins blueprints call

Nothing here runs across organizations: that is app/operations/, which may import this
package (never the reverse).
"""
