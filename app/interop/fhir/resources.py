"""XinQiao's records as FHIR R4 resources (plain dicts, JSON-ready; tests validate them with fhir.resources).

Identifier and code systems of our own live under FHIR_SYSTEM_BASE (config.py), a URL the centre controls; the
README lists them. What never leaves: guardian data, clinical free text (a referral's reason, a decision's
conditions, an assessment's findings) and quality flags.
"""
from datetime import date, datetime, timezone
from functools import lru_cache

from flask import current_app

LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FHIR_VERSION = "4.0.1"

# LOINC item codes that a scale's data file marks "verify" are used only once checked against a published source,
# named here. The data files are content-versioned (a scale's version is its hash), so the check is recorded here
# rather than by editing them.
VERIFIED_ITEM_CODES = {
    "PHQ-9": "HL7 International / Patient Care, PACIO Personal Functioning and Engagement IG, ConceptMap "
             "LOINCtoICFPHQ9 (http://hl7.org/fhir/us/pacio-pfe/ConceptMap/LOINCtoICFPHQ9): items 1-9 of panel "
             "44249-1 in order, each mapped to the ICF function its text names (b134 sleep for item 3, b180 self "
             "for item 6, b140 attention for item 7, b160 thought for item 9)",
}

GENDER = {"M": "male", "F": "female"}
REFERRAL_STATUS = {"sent": "active", "accepted": "active", "assessed": "active", "closed": "completed",
                   "declined": "revoked"}
URGENCY_PRIORITY = {"critical": "stat", "high": "urgent", "moderate": "routine", "low": "routine"}
OUTCOME_DISPLAY = {"cleared": "Cleared to return to school",
                   "cleared_with_conditions": "Cleared to return to school with conditions",
                   "not_cleared": "Not cleared to return to school"}


def system(path: str) -> str:
    return current_app.config["FHIR_SYSTEM_BASE"].rstrip("/") + "/" + path


def instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@lru_cache(maxsize=1024)
def _slug(code: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in code.lower()).strip("-")


def questionnaire_id(code: str, version: str) -> str:
    """A FHIR id (64 characters at most) naming the scale and its version (its content hash)."""
    return f"{_slug(code)}-{version[:16]}"


def questionnaire_url(code: str) -> str:
    return system(f"Questionnaire/{_slug(code)}")


def item_codes(scale) -> list | None:
    """The scale's LOINC item codes, or None when the data file has none or marks them for checking."""
    loinc = scale.loinc or {}
    items = loinc.get("items")
    if not items or len(items) != len(scale.items):
        return None
    if "verify" in str(loinc.get("note", "")).lower() and scale.code not in VERIFIED_ITEM_CODES:
        return None
    return list(items)


def loinc_code(scale, key: str) -> str | None:
    """The panel or total code, unless the note says that one is unchecked."""
    value = (scale.loinc or {}).get(key)
    return value if isinstance(value, str) and value else None


def questionnaire(scale, locale: str = "zh") -> dict:
    codes = item_codes(scale)
    items = []
    for index, item in enumerate(scale.items):
        entry = {"linkId": item.id, "prefix": str(item.number), "text": item.text(locale), "type": "choice",
                 "required": not item.optional and not item.asked_if,
                 "answerOption": [{"valueCoding": {"system": system(f"CodeSystem/{_slug(scale.code)}-answers"),
                                                   "code": str(o.value), "display": o.label(locale)}}
                                  for o in item.options]}
        if codes:
            entry["code"] = [{"system": LOINC, "code": codes[index]}]
        if item.asked_if:
            entry["enableWhen"] = [{"question": scale.items[n - 1].id, "operator": "=",
                                    "answerCoding": {"system": system(f"CodeSystem/{_slug(scale.code)}-answers"),
                                                     "code": str(item.asked_if.get("equals"))}}
                                   for n in item.asked_if.get("any_of", [])]
            entry["enableBehavior"] = "any"
        items.append(entry)
    resource = {
        "resourceType": "Questionnaire", "id": questionnaire_id(scale.code, scale.version),
        "url": questionnaire_url(scale.code), "version": scale.version, "name": _slug(scale.code).replace("-", "_"),
        "title": scale.name(locale), "status": "active", "subjectType": ["Patient"],
        "description": scale.instructions(locale) or scale.name(locale),
        "copyright": scale.licence or None, "item": items,
    }
    panel = loinc_code(scale, "panel")
    if panel:
        resource["code"] = [{"system": LOINC, "code": panel}]
    return {k: v for k, v in resource.items() if v not in (None, "", [])}


def patient(student) -> dict:
    """The student: 学籍号 as the identifier, name, sex, birth date. No guardian, no contact details."""
    resource = {
        "resourceType": "Patient", "id": str(student.id),
        "identifier": [{"use": "official", "system": system("sid/cn-student-number"), "value": student.student_number,
                        "type": {"text": "学籍号 (national student number)"}}],
        "name": [{"text": student.name}],
        "birthDate": student.birth_date.isoformat(),
    }
    sex = getattr(student.sex, "value", student.sex)
    resource["gender"] = GENDER.get(sex, "unknown")
    return resource


_ANSWERED_ITEMS = {}  # (code, version, index, value) → (linkId, option label, item text); a version is its content


def _answered_item(scale, index, value):
    """What an answer's entry names: its item's linkId, the chosen option's label and the item's text (zh)."""
    key = (scale.code, scale.version, index, value) if scale is not None else None
    found = _ANSWERED_ITEMS.get(key) if key is not None else None
    if found is None:
        item = scale.items[index] if scale is not None and index < len(scale.items) else None
        if item is None:
            return f"item-{index + 1}", None, None
        label = next((o.label("zh") for o in item.options if o.value == value), None)
        found = (item.id, label, item.text("zh"))
        if len(_ANSWERED_ITEMS) < 100_000:
            _ANSWERED_ITEMS[key] = found
    return found


def questionnaire_response(response, scale) -> dict:
    """One questionnaire as answered. `scale` is the loaded version it names (None when no longer loaded)."""
    items = []
    answer_system = system(f"CodeSystem/{_slug(response.scale_code)}-answers")
    for index, value in enumerate(response.answers or []):
        if value is None:
            continue
        link_id, label, text = _answered_item(scale, index, value)
        coding = {"system": answer_system, "code": str(value)}
        if label:
            coding["display"] = label
        entry = {"linkId": link_id, "answer": [{"valueCoding": coding}]}
        if text is not None:
            entry["text"] = text
        items.append(entry)
    resource = {
        "resourceType": "QuestionnaireResponse", "id": str(response.id),
        "questionnaire": f"{questionnaire_url(response.scale_code)}|{response.scale_version}",
        "status": "completed", "subject": {"reference": f"Patient/{response.student_id}"},
        "authored": instant(response.submitted_at),
    }
    if items:
        resource["item"] = items
    return resource


def observation(score, response, scale) -> dict:
    """The score: total (LOINC total code where the scale has one), band as interpretation, risk level."""
    code_scale = scale
    total_code = loinc_code(code_scale, "total") if code_scale is not None else None
    codings = [{"system": system("CodeSystem/scale-total"), "code": response.scale_code,
                "display": f"{response.scale_code} total score"}]
    if total_code:
        codings.insert(0, {"system": LOINC, "code": total_code})
    resource = {
        "resourceType": "Observation", "id": str(score.id), "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": codings, "text": f"{response.scale_code} total score"},
        "subject": {"reference": f"Patient/{response.student_id}"},
        "effectiveDateTime": instant(response.submitted_at), "issued": instant(score.scored_at),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.id}"}],
        "component": [{"code": {"coding": [{"system": system("CodeSystem/observation-component"), "code": "risk-level",
                                            "display": "Risk level"}]},
                       "valueCodeableConcept": {"coding": [{"system": system("CodeSystem/risk-level"),
                                                            "code": score.risk}]}}],
    }
    band = None
    if score.band:
        band = {"system": system(f"CodeSystem/{_slug(response.scale_code)}-band"), "code": score.band}
        if scale is not None:
            try:
                band["display"] = scale.band(score.band).label("zh")
            except KeyError:
                pass
        resource["interpretation"] = [{"coding": [band]}]
    if score.total is not None:
        resource["valueInteger"] = int(score.total)
    elif band is not None:
        resource["valueCodeableConcept"] = {"coding": [band]}
    else:
        resource["dataAbsentReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                                    "code": "not-applicable"}]}
    for code, value in sorted((score.subscales or {}).items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            resource["component"].append({
                "code": {"coding": [{"system": system(f"CodeSystem/{_slug(response.scale_code)}-subscale"), "code": code}]},
                "valueQuantity": {"value": value}})
    return resource


def service_request(referral) -> dict:
    """The referral to the hospital: status, urgency, dates. Its reason is clinical free text and stays out."""
    return {
        "resourceType": "ServiceRequest", "id": str(referral.id),
        "identifier": [{"system": system("sid/referral-case-number"), "value": referral.case_number}],
        "status": REFERRAL_STATUS.get(getattr(referral.status, "value", referral.status), "unknown"),
        "intent": "order", "priority": URGENCY_PRIORITY.get(referral.urgency, "routine"),
        "code": {"text": "Referral for psychological assessment (心理评估转介)"},
        "subject": {"reference": f"Patient/{referral.student_id}"},
        "authoredOn": instant(referral.created_at),
        "requester": {"display": referral.school.name if referral.school else ""},
        "performer": [{"display": referral.hospital.name if referral.hospital else ""}],
    }


def document_reference(decision, binary_url: str | None) -> dict:
    """The return-to-school decision, pointing at its certificate (a PDF). The conditions stay in the PDF."""
    outcome = getattr(decision.outcome, "value", decision.outcome)
    attachment = {"contentType": "application/pdf", "title": f"Return-to-school certificate {decision.case_number}",
                  "creation": instant(decision.created_at)}
    if binary_url:
        attachment["url"] = binary_url
    return {
        "resourceType": "DocumentReference", "id": str(decision.id),
        "identifier": [{"system": system("sid/return-decision-case-number"), "value": decision.case_number}],
        "status": "current", "docStatus": "final",
        "type": {"coding": [{"system": system("CodeSystem/document-type"), "code": "return-to-school-certificate",
                             "display": "Return-to-school certificate"}], "text": "复学评估证明"},
        "category": [{"coding": [{"system": system("CodeSystem/return-decision-outcome"), "code": outcome,
                                  "display": OUTCOME_DISPLAY.get(outcome, outcome)}]}],
        "subject": {"reference": f"Patient/{decision.student_id}"},
        "date": instant(decision.created_at),
        "description": OUTCOME_DISPLAY.get(outcome, outcome)
                       + (f"; review on {decision.review_on.isoformat()}" if decision.review_on else ""),
        "content": [{"attachment": attachment}],
        "context": {"related": [{"reference": f"ServiceRequest/{decision.referral_id}"}]},
    }


def school_year_bounds(school_year: str) -> tuple[date, date]:
    """'2026-2027' → 1 September 2026 (first day) and 1 September 2027 (first day after)."""
    first = int(school_year[:4])
    return date(first, 9, 1), date(first + 1, 9, 1)
