"""The application factory: the list of what the console is made of."""

from flask import Flask

from config import Config, config_class_from_env

__version__ = "2026.11.28"  # calendar versioning: the day of the release; /system shows it


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    app.config.from_object((config_class or config_class_from_env())(**overrides))

    from app import audit, cli, headers, i18n, logging_setup, pooling, request_log, security
    from app.command_hint import flask_command
    from app.errors import handlers as errors
    from app.extensions import bootstrap, csrf, db, limiter, login_manager, migrate
    from app.tenancy import hooks as tenancy_hooks

    logging_setup.init_app(app)
    request_log.init_app(app)
    headers.init_app(app)  # first: plain HTTP is redirected before anything else answers it
    i18n.init_app(app)
    db.init_app(app)
    with app.app_context():
        pooling.ping_when_idle(db.engine)
    audit.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    security.init_app(app)
    tenancy_hooks.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.jinja_env.globals["flask_command"] = flask_command

    from app.api import bp as api_bp
    from app.audit_log import bp as audit_bp
    from app.auth import bp as auth_bp
    from app.donors import bp as donors_bp
    from app.fleet import bp as fleet_bp
    from app.organizations import bp as organizations_bp
    from app.system import bp as system_bp

    for blueprint in (auth_bp, organizations_bp, donors_bp, fleet_bp, system_bp, audit_bp, api_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # bearer tokens, never cookies: there is nothing for CSRF to ride on
    return app
