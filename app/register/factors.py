"""The interview's structured headings: risk and protective factors, and the NIMH ASQ Brief Suicide Safety
Assessment (BSSA) headings (frequency of suicidal thoughts, suicide plan, past behaviour, symptoms, guardian
interview, safety planning, disposition). Codes are stored; labels are translated."""
from flask_babel import lazy_gettext as _l

RISK_FACTORS = {
    "family_conflict": _l("Family conflict or violence"),
    "bullying": _l("Bullying"),
    "academic_stress": _l("Academic stress"),
    "loss": _l("Recent loss or bereavement"),
    "isolation": _l("Social isolation"),
    "self_harm_history": _l("History of self-harm"),
    "substance_use": _l("Alcohol or substance use"),
    "left_behind": _l("Left-behind child (留守)"),
    "online_risk": _l("Online risk or excessive gaming"),
}
PROTECTIVE_FACTORS = {
    "family_support": _l("Supportive family"),
    "trusted_adult": _l("A trusted adult at school"),
    "friends": _l("Friends to turn to"),
    "help_seeking": _l("Willing to seek help"),
    "future_plans": _l("Reasons for living, plans for the future"),
    "coping_skills": _l("Coping skills"),
}
# BSSA: frequency of suicidal thoughts
SUICIDAL_THOUGHTS = {
    "none": _l("No thoughts of suicide"),
    "past_weeks": _l("In the past few weeks, not now"),
    "frequent": _l("Frequent thoughts in the past few weeks"),
    "now": _l("Thoughts of suicide right now"),
}
# BSSA: suicide plan
SUICIDE_PLAN = {
    "none": _l("No plan"),
    "vague": _l("Thoughts of a method, no plan"),
    "plan": _l("A plan (method, time or place)"),
}
# BSSA: past behaviour
PAST_BEHAVIOUR = {
    "self_harm": _l("Has hurt themselves"),
    "attempt": _l("Has tried to end their life"),
}
# BSSA: symptoms
SYMPTOMS = {
    "depression": _l("Depression"),
    "anxiety": _l("Anxiety"),
    "impulsivity": _l("Impulsivity or recklessness"),
    "hopelessness": _l("Hopelessness"),
    "irritability": _l("Irritability"),
    "insomnia": _l("Insomnia"),
    "withdrawal": _l("Social withdrawal"),
    "psychosis": _l("Psychotic symptoms"),
    "agitation": _l("Agitation or anger"),
}
# BSSA: disposition
DISPOSITIONS = {
    "emergency": _l("Emergency psychiatric evaluation"),
    "further_evaluation": _l("Further evaluation by a clinician (not urgent)"),
    "no_further": _l("No further evaluation needed now"),
}
