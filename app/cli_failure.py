"""The one way a command fails: "error: <message>" on stderr and exit status 1."""

import click


class CommandFailed(click.ClickException):
    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
