"""/fleet: every database of the fleet at a glance, tested and sampled now, concurrently."""

from flask import current_app, render_template
from flask_login import current_user

from app.fleet import bp
from app.operations import fleet, status
from app.security import require_owner
from app.tenancy.service import tenancy

# A dead database costs one connect timeout: enough probes at once that the fleet's dead
# ones time out together rather than in rounds.
CONCURRENCY = 32


@bp.get("/fleet")
def index():
    require_owner()
    statuses = status.collect(tenancy(), CONCURRENCY, scope=current_user.organization_scope)
    rows = fleet.databases(statuses)
    if current_user.organization_scope:  # the main database's figures speak of every organization (as on /system)
        for row in rows:
            if row.target == fleet.MAIN_TARGET:
                row.health = {}
    return render_template(
        "fleet/index.html",
        rows=rows,
        busiest=fleet.busiest(rows),
        fullest=fleet.fullest(rows),
        timeout=current_app.config["TENANT_CONNECT_TIMEOUT"],
        main_target=fleet.MAIN_TARGET,
    )
