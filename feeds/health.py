"""The health demographics feed: one FHIR R4 Patient resource per line, shaped as the NHS
Personal Demographics Service gives them (docs/feeds/health.md).

The resource is read with `fhir.resources` (its R4B models: R4's Patient, with R4's fields),
then its values are checked as every feed's are: the NHS number's check digit, a name of
letters, a UK postcode, a plausible date of birth. The GP practice is the `generalPractitioner`
reference to an Organization contained in the resource (its ODS code, name and phone).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any, Final

from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from db.load.import_line import PersonName, Phone, Postcode, Text60, Text100, Text200
from feeds.checks import BirthDay, NhsNumber, OdsCode, PastDay
from feeds.records import (
    FeedAddress,
    FeedOrganisation,
    FeedRecord,
    IdentifierKind,
    Parsed,
    Rejection,
    Source,
)
from feeds.sources import MAX_LINE_CHARACTERS, rejections_of

NHS_NUMBER_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM: Final = "https://fhir.nhs.uk/Id/ods-organization-code"
# Only in generated test feeds: which child the line truly is.
TRUTH_SYSTEM: Final = "https://contactpoint.example/Id/demo-truth"
_GENDERS: Final = frozenset({"male", "female", "other", "unknown"})
# The names a record may carry, best first: PDS marks the current legal name "usual".
_NAME_USES: Final = ("usual", "official", None)


class _Checked(BaseModel):
    """The values taken from a Patient, checked and normalised as every feed's are."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    nhs_number: NhsNumber
    version: int
    as_of: PastDay
    given_names: PersonName
    family_name: PersonName
    gender: str | None = None
    date_of_birth: BirthDay
    date_of_death: PastDay | None = None
    # A child's address has one to four lines, as the import's (and the schema's) rule says.
    address_lines: tuple[Text100, ...] = Field(default=(), max_length=4)
    town: Text60 | None = None
    postcode: Postcode | None = None
    address_since: PastDay | None = None
    gp_code: OdsCode | None = None
    gp_name: Text200 | None = None
    gp_phone: Phone | None = None
    truth: Text60 | None = None

    @field_validator("gender")
    @classmethod
    def _gender(cls, value: str | None) -> str | None:
        if value is not None and value not in _GENDERS:
            raise ValueError("is not male, female, other or unknown")
        return value


def _identifier(patient: Patient, system: str) -> str | None:
    return next((i.value for i in patient.identifier or [] if i.system == system), None)


def _name(patient: Patient) -> tuple[str | None, str | None]:
    names = patient.name or []
    for use in _NAME_USES:
        for name in names:
            if name.use == use and not (name.period and name.period.end):
                return " ".join(g for g in name.given or [] if g) or None, name.family
    return None, None


def _home(patient: Patient) -> dict[str, Any]:
    for address in patient.address or []:
        if address.use in ("home", None) and not (address.period and address.period.end):
            lines = tuple(line for line in address.line or [] if line and line.strip())
            town = address.city
            if town is None and len(lines) > 1:
                # PDS often gives the town as the last line and no city.
                lines, town = lines[:-1], lines[-1]
            return {
                "address_lines": lines,
                "town": town,
                "postcode": address.postalCode,
                "address_since": address.period.start if address.period else None,
            }
    return {}


def _practice(patient: Patient) -> dict[str, Any]:
    for reference in patient.generalPractitioner or []:
        code = reference.identifier.value if reference.identifier else None
        organisation = None
        if reference.reference and reference.reference.startswith("#"):
            wanted = reference.reference[1:]
            organisation = next(
                (
                    item
                    for item in patient.contained or []
                    if isinstance(item, Organization) and item.id == wanted
                ),
                None,
            )
        if organisation is not None:
            code = code or next(
                (i.value for i in organisation.identifier or [] if i.system == ODS_SYSTEM), None
            )
            phone = next((t.value for t in organisation.telecom or [] if t.system == "phone"), None)
            return {"gp_code": code, "gp_name": organisation.name, "gp_phone": phone}
        if code is not None:
            return {"gp_code": code, "gp_name": reference.display}
    return {}


def _values(patient: Patient) -> dict[str, Any]:
    given, family = _name(patient)
    died = patient.deceasedDateTime
    version = patient.meta.versionId if patient.meta else None
    updated = patient.meta.lastUpdated if patient.meta else None
    values: dict[str, Any] = {
        "nhs_number": _identifier(patient, NHS_NUMBER_SYSTEM),
        "version": int(version) if version and version.isdigit() else None,
        "as_of": updated.date() if updated is not None else None,
        "given_names": given,
        "family_name": family,
        "gender": patient.gender,
        "date_of_birth": patient.birthDate,
        "date_of_death": died.date() if died is not None else None,
        "truth": _identifier(patient, TRUTH_SYSTEM),
        **_home(patient),
        **_practice(patient),
    }
    return {key: value for key, value in values.items() if value not in (None, (), "")}


# Where each checked value comes from in the resource, for the rejection's field.
_FHIR_PATHS: Final = {
    "nhs_number": f"identifier[system={NHS_NUMBER_SYSTEM}]",
    "version": "meta.versionId",
    "as_of": "meta.lastUpdated",
    "given_names": "name.given",
    "family_name": "name.family",
    "gender": "gender",
    "date_of_birth": "birthDate",
    "date_of_death": "deceasedDateTime",
    "address_lines": "address.line",
    "town": "address.city",
    "postcode": "address.postalCode",
    "address_since": "address.period.start",
    "gp_code": "generalPractitioner.identifier",
    "gp_name": "contained.Organization.name",
    "gp_phone": "contained.Organization.telecom",
}


def _record(checked: _Checked) -> FeedRecord:
    address = None
    if checked.address_lines and checked.town and checked.postcode:
        address = FeedAddress(
            lines=checked.address_lines,
            town=checked.town,
            postcode=checked.postcode,
            since=checked.address_since,
        )
    practice = None
    if checked.gp_code and checked.gp_name:
        practice = FeedOrganisation(
            code=checked.gp_code, name=checked.gp_name, phone=checked.gp_phone
        )
    return FeedRecord(
        source=Source.HEALTH,
        record_id=checked.nhs_number,
        version=checked.version,
        as_of=checked.as_of,
        given_names=checked.given_names,
        family_name=checked.family_name,
        date_of_birth=checked.date_of_birth,
        gender=checked.gender,  # type: ignore[arg-type]
        address=address,
        identifiers=((IdentifierKind.NHS_NUMBER, checked.nhs_number),),
        gp_practice=practice,
        date_of_death=checked.date_of_death,
        truth=checked.truth,
    )


def parse_patient(line: int, text: str, *, today: date) -> Parsed:
    """One line of the feed: a Patient resource as JSON."""
    if len(text) > MAX_LINE_CHARACTERS:
        reason = f"is longer than {MAX_LINE_CHARACTERS} characters"
        return Parsed(line=line, rejections=(Rejection(line, "(line)", reason),))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Parsed(line=line, rejections=(Rejection(line, "(line)", f"is not JSON: {exc}"),))
    except RecursionError:
        reason = "is JSON nested too deeply to be a Patient resource"
        return Parsed(line=line, rejections=(Rejection(line, "(line)", reason),))
    if not isinstance(data, dict) or data.get("resourceType") != "Patient":
        reason = "is not a FHIR Patient resource (resourceType must be Patient)"
        return Parsed(line=line, rejections=(Rejection(line, "resourceType", reason),))
    try:
        patient = Patient.model_validate(data)
    except ValidationError as exc:
        return Parsed(line=line, rejections=rejections_of(line, exc))
    except (TypeError, ValueError, RecursionError) as exc:  # the FHIR models, on some shapes
        reason = str(exc)[:200] or type(exc).__name__
        return Parsed(line=line, rejections=(Rejection(line, "(resource)", reason),))
    try:
        checked = _Checked.model_validate(_values(patient), context={"today": today})
    except ValidationError as exc:
        found = tuple(
            Rejection(r.line, _FHIR_PATHS.get(r.field.split(".")[0], r.field), r.reason)
            for r in rejections_of(line, exc)
        )
        return Parsed(line=line, rejections=found)
    return Parsed(line=line, record=_record(checked))


def read_health(handle: io.TextIOBase, *, today: date) -> Iterator[Parsed]:
    """Every non-blank line of a health feed."""
    for number, text in enumerate(handle, start=1):
        if text.strip():
            yield parse_patient(number, text, today=today)
