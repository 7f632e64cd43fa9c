"""What the console is configured with: where it listens, its login secret, its page size."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The default address: loopback only, so a console is never on the network unless asked.
DEFAULT_HOST = "127.0.0.1"
#: The default port of ``bus web``.
DEFAULT_PORT = 8088


class ConsoleOptions(BaseSettings):
    """The console's own settings, from ``BUS_WEB_*`` (the bus's come from :class:`BusSettings`)."""

    model_config = SettingsConfigDict(env_prefix="BUS_WEB_", frozen=True, extra="ignore")

    #: With ``BUS_AUTH=required``: the secret a person logs in with (as the operator whose
    #: credentials the console holds), and the key its session cookies and per-person tokens
    #: are derived from. Unset or empty: Flower's password (``FLOWER_BASIC_AUTH=user:password``),
    #: so the console is behind the same secret as Flower. Neither: nobody can log in.
    secret: SecretStr | None = None
    #: Flower's ``user:password`` (``FLOWER_BASIC_AUTH``), whose password stands in for
    #: :attr:`secret` when that is not set.
    flower_basic_auth: SecretStr | None = Field(default=None, validation_alias="FLOWER_BASIC_AUTH")

    def login_secret(self) -> str | None:
        """The secret a person logs in with: :attr:`secret`, else Flower's password."""
        if self.secret is not None and self.secret.get_secret_value():
            return self.secret.get_secret_value()
        flower = self.flower_basic_auth.get_secret_value() if self.flower_basic_auth else ""
        _, colon, password = flower.partition(":")
        return password if colon and password else None

    #: Messages per page of a timeline (older ones are paged back to).
    page_size: int = Field(default=100, ge=1, le=1000)
    #: Seconds between two looks at a followed stream's head (the event streams' poll).
    poll_seconds: float = Field(default=0.05, gt=0, le=5)
