"""Shared steps of the warning register's tests: a class screens, a teacher interviews."""
from datetime import timedelta

from app.core import clock
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, launch_campaign

PHQ9_MODERATE = [2, 2, 2, 2, 2, 0, 0, 0, 0]   # total 10: band "moderate", risk moderate
PHQ9_HIGH = [2, 2, 2, 2, 2, 2, 2, 1, 0]       # total 15: band "moderately severe", risk high
ANSWERS = {"critical": PHQ9_CRITICAL, "high": PHQ9_HIGH, "moderate": PHQ9_MODERATE, "low": PHQ9_LOW}


def screen(app, teacher, world, risks):
    """Launch a PHQ-9 + GAD-7 round for the class; student i answers PHQ-9 at risks[i]. Returns the campaign id."""
    campaign_id, code = launch_campaign(teacher, world.class_id)
    for student, risk in zip(world.students, risks):
        if risk is not None:
            answer_all(app.test_client(), code, student, {"PHQ-9": ANSWERS[risk], "GAD-7": GAD7_LOW})
    return campaign_id


def interview_form(level, reason="reason for the level", judgement="teacher judgement", **extra):
    data = {"interviewed_on": clock.today().isoformat(), "risk_factors": ["academic_stress", "isolation"],
            "protective_factors": ["family_support"], "suicidal_thoughts": "past_weeks", "suicide_plan": "none",
            "symptoms": ["depression", "insomnia"], "disposition": "further_evaluation", "judgement": judgement,
            "notes": "notes of the interview", "level": level, "level_reason": reason}
    data.update(extra)
    return data


def plan_form(goals="plan goals", homeroom_task="homeroom task: sit with the student at lunch",
              guardian_task="guardian task: take the student to the clinic"):
    return {"goals": goals, "review_1": (clock.today() + timedelta(days=7)).isoformat(),
            "review_2": (clock.today() + timedelta(days=28)).isoformat(),
            "tasks-0-owner": "homeroom", "tasks-0-action": homeroom_task,
            "tasks-0-due_on": (clock.today() + timedelta(days=3)).isoformat(),
            "tasks-1-owner": "guardian", "tasks-1-action": guardian_task,
            "tasks-2-owner": "psychology_teacher", "tasks-2-action": "weekly talk", "tasks-3-owner": "hospital"}
