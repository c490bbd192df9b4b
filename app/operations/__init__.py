"""Operations: what runs across organizations and databases.

commands.py      flask --app wsgi tenants ...: status, migrate, backup, restore, encrypt-urls
move_command.py  tenants move (online), --abort, progress on a terminal or one line a phase
output.py        what the commands share: the organization named, tables and JSON, progress
databases.py     which database an operation writes to (main, dedicated, an organization's current one)
transfer.py      one organization's rows between databases: COPY in batches, checksums, counts, deletes
capture.py       change capture for online moves: the log of changed rows, its replay, the hold
online.py        the online move: capture, copy, catch up, verify, cut over, fence; abort
fences.py        the fence a move leaves on the old location (SQLSTATE 55000 for stale writers)
moves.py         planning a move (target checks, migrating an empty target) and running it
jobs.py          moves started from the console: the job row, the RQ queue, flask --app wsgi worker
backups.py       tenants backup and restore: a self-contained, verified archive of one organization
status.py        tenants status: every organization's database, probed concurrently within bounds
migrate.py       tenants migrate: every distinct database to head, several at a time
upgrade.py       bringing one database to the schema head in a child process

This package may import app/tenancy/; app/tenancy/ never imports from here.
"""
