"""Operations: what runs across organizations and databases, from the command line.

commands.py   flask --app wsgi tenants ...: status, migrate, move, backup, restore, encrypt-urls
databases.py  which database an operation writes to (main, dedicated, an organization's current one)
transfer.py   copying one organization's rows between databases, verified by counts and checksums
moves.py      tenants move: plan, prepare the target, copy, verify, switch
backups.py    tenants backup and restore: a self-contained, verified archive of one organization
status.py     tenants status: every organization's database, probed concurrently within bounds
upgrade.py    bringing one database to the schema head in a child process

This package may import app/tenancy/; app/tenancy/ never imports from here.
"""
