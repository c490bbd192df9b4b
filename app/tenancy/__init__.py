"""Tenancy: which database serves an organization, and how to reach it safely.

urls.py      parse, validate, mask, and the stored secret forms (plain, env:, enc:v1:)
engines.py   the per-process engine registry (LRU, bounded pools, failure memory)
schema.py    Alembic revision of a database against the code's head
scoping.py   the session class that scopes every tenant query to one organization
routing.py   per-request selection, the fallback policy, and g.org / g.tenant
"""
