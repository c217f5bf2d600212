"""Typed errors of the fitness library, all under `FitnessError`.

Each carries what a caller needs to react (the current version, the offending fields), and
none ever carries a secret, so the API can turn them into responses without filtering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class FitnessError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigurationError(FitnessError):
    """The settings cannot work (a missing variable in prod, a malformed value)."""


class NotFound(FitnessError):
    """Something addressed by id does not exist (or is soft-deleted)."""


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} not found")
        self.run_id = run_id


class RideNotFound(NotFound):
    def __init__(self, ride_id: str) -> None:
        super().__init__(f"ride {ride_id!r} not found")
        self.ride_id = ride_id


class LiftNotFound(NotFound):
    def __init__(self, lift_id: str) -> None:
        super().__init__(f"lift {lift_id!r} not found")
        self.lift_id = lift_id


class BikeNotFound(NotFound):
    def __init__(self, bike_id: str) -> None:
        super().__init__(f"bike {bike_id!r} not found")
        self.bike_id = bike_id


class VersionNotFound(NotFound):
    """The run (or ride, lift: `noun`) has no version with this number."""

    def __init__(self, run_id: str, version_number: int, *, noun: str = "run") -> None:
        super().__init__(f"{noun} {run_id!r} has no version {version_number}")
        self.run_id = run_id
        self.version_number = version_number
        self.noun = noun


class ShoeNotFound(NotFound):
    """No shoe to use by that id: none at all, or (`why`) one deleted or merged away."""

    def __init__(self, shoe_id: str, why: str | None = None) -> None:
        super().__init__(f"shoe {shoe_id!r} {why or 'not found'}")
        self.shoe_id = shoe_id


class ShoeExists(FitnessError):
    def __init__(self, shoe_id: str) -> None:
        super().__init__(f"a shoe with id {shoe_id!r} already exists")
        self.shoe_id = shoe_id


class VersionConflict(FitnessError):
    """The caller's `expected_version` is stale: someone else changed the run (or the ride,
    the lift: `noun`) first."""

    def __init__(
        self, run_id: str, expected_version: int, current_version: int, *, noun: str = "run"
    ) -> None:
        super().__init__(
            f"{noun} {run_id!r} is at version {current_version}, not {expected_version}"
        )
        self.run_id = run_id
        self.noun = noun
        self.expected_version = expected_version
        self.current_version = current_version


class ProtectedField(FitnessError):
    """An update tried to change a field that identifies the run (`id`, `source`)."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = sorted(fields)
        super().__init__(f"protected fields cannot be changed: {', '.join(self.fields)}")


class InvalidUpdate(FitnessError):
    """Some values cannot be stored; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        details = "; ".join(f"{field}: {message}" for field, message in sorted(self.errors.items()))
        super().__init__(f"invalid update: {details}")


class UnknownFields(InvalidUpdate):
    """An update named fields that runs do not have."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = sorted(fields)
        super().__init__({name: "unknown field" for name in self.fields})


class ShoeDeleted(InvalidUpdate):
    """A run would be given a deleted shoe (by an edit, a restore or an import); `errors`
    says which shoe under `field` and what to do instead."""

    def __init__(self, shoe_id: str, field: str = "shoe_id") -> None:
        super().__init__(
            {field: f"shoe {shoe_id!r} is deleted; undelete it first (or undo its merge)"}
        )
        self.shoe_id = shoe_id


class ShoeConflict(FitnessError):
    """A rename, undelete, merge or unmerge that the shoes' state does not allow (a shoe
    merged into itself, undeleting a merged shoe...); the message says what is in the way."""


class InvalidCursor(FitnessError):
    """A page cursor that this library did not hand out (or that has been tampered with)."""

    def __init__(self) -> None:
        super().__init__("the cursor is not one this API handed out")


class InvalidParameters(InvalidUpdate):
    """Parameters of a question (a statistic's range, time zone, units...) that cannot be
    answered; `errors` maps each parameter to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(errors)
        details = "; ".join(f"{name}: {message}" for name, message in sorted(self.errors.items()))
        self.args = (f"invalid parameters: {details}",)


class DatabaseUnavailable(FitnessError):
    """The database could not be reached (or the schema is not where it must be)."""


class RunExists(FitnessError):
    """A run with this id is already stored (a manual run starting the same second)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} already exists")
        self.run_id = run_id


class DuplicateConflict(FitnessError):
    """Marking (or restoring) a duplicate would break the rule that a run is a duplicate of
    at most one run that is itself no duplicate; the message says what is in the way."""


class IngestTokenExists(FitnessError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an ingest token named {name!r} already exists")
        self.name = name


class IngestTokenNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no ingest token is named {name!r}")
        self.name = name


class MalformedPayload(FitnessError):
    """A pushed body cannot be read at all: not JSON, or not the shape the route reads."""


class BackupError(FitnessError):
    """A backup or restore could not be made; nothing was changed."""


class InvalidImport(FitnessError):
    """An import file cannot be read at all (e.g. a required column is missing)."""


class IntegrationError(FitnessError):
    """An external service (Strava, Google) failed in a way the user cannot fix by retrying."""


class IntegrationNotConfigured(IntegrationError):
    """An integration was asked for but its client id/secret or tokens are not configured."""


class IntegrationRefused(IntegrationError):
    """The provider refuses this connection as a whole, not one item: an inactive app, a
    calendar the account cannot write, rejected client credentials, too narrow a consent.

    A sync stops at the first such answer and leaves what it had not finished as it was;
    the message says what the user can do now (a variable to change, `fitness connect`).
    `slug` names the kind of problem for the API.
    """

    slug = "integration-refused"

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class ReauthorizationRequired(IntegrationRefused):
    """The provider rejected our refresh token (invalid grant): the user must connect again."""

    slug = "reauthorization-required"

    def __init__(self, provider: str, message: str | None = None) -> None:
        super().__init__(
            provider,
            message
            or f"{provider.capitalize()} rejected the stored refresh token: run "
            f"`fitness connect {provider}` (or open /oauth/{provider}/authorize)",
        )


class InsufficientScope(ReauthorizationRequired):
    """The user granted less than fitness needs: `missing` names the permissions to tick."""

    slug = "insufficient-scope"

    def __init__(self, provider: str, missing: tuple[str, ...], message: str) -> None:
        super().__init__(provider, message)
        self.missing = missing


class CredentialsRejected(IntegrationRefused):
    """The provider rejected the client id or secret (`invalid_client`)."""

    slug = "client-credentials-rejected"


class ProviderAppInactive(IntegrationRefused):
    """The provider has deactivated our API application (Strava's 2026 subscription rule)."""

    slug = "provider-app-inactive"


class CalendarUnavailable(IntegrationRefused):
    """The calendar cannot be written with this account: missing, not shared, read-only."""

    slug = "calendar-unavailable"


class InvalidOAuthState(FitnessError):
    """An OAuth callback arrived with a `state` that is missing, unknown, expired, already
    used, or started by another browser (or process)."""


class ConsentDeclined(FitnessError):
    """The user declined the provider's consent page (the callback carries `error`)."""
