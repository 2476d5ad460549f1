"""Why an alert was raised: each screening answer behind it, as item text and the option chosen, critical first."""
from types import SimpleNamespace

from flask_babel import get_locale
from screening_scales.scoring import item_score

from app.screening import services as screening


def _scale_of(response):
    scale = screening.registry().by_version(response.scale_code, response.scale_version)
    if scale is None:
        try:
            scale = screening.registry().get(response.scale_code)
        except Exception:  # a scale no longer loaded: the page says so rather than failing
            return None
    return scale


def explain_response(response):
    """The score, band and the answers that count: critical items first, then every item scored above zero."""
    scale = _scale_of(response)
    score = response.score
    locale = str(get_locale() or "zh")
    if scale is None:
        return SimpleNamespace(response=response, scale_name=response.scale_code, score=score, band=None,
                               items=[], quiet=0, max_total=None)
    answers = list(response.answers or [])
    critical, scored, quiet = [], [], 0
    for item in scale.items:
        value = answers[item.number - 1] if item.number - 1 < len(answers) else None
        option = next((o for o in item.options if o.value == value), None)
        is_critical = item.number in scale.critical_items
        row = SimpleNamespace(number=item.number, text=item.text(locale), critical=is_critical,
                              answer=option.label(locale) if option else None, value=value,
                              positive=value is not None and _counts(scale, item.number, value, is_critical))
        if is_critical:
            critical.append(row)
        elif row.positive:
            scored.append(row)
        else:
            quiet += 1
    band = None
    if score is not None and score.band:
        try:
            band = scale.band(score.band).label(locale)
        except KeyError:
            band = score.band
    return SimpleNamespace(response=response, scale_name=scale.name(locale), score=score, band=band,
                           items=critical + scored, quiet=quiet, max_total=scale.max_total)


def _counts(scale, number, value, is_critical):
    if is_critical:
        return value not in (0, None) and (value > 0 if isinstance(value, int) else True)
    try:
        return item_score(scale, number, value) > 0
    except Exception:
        return False


def explain_alert(alert):
    """Every response behind the alert (the one that opened it, then those that joined), explained."""
    responses = [alert.response] if alert.response else []
    responses += [j.response for j in alert.joins if j.response is not None]
    return [explain_response(r) for r in responses]
