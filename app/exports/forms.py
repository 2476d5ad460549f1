"""The research export's request: why, who approved it, and whether its pseudonyms match an earlier export's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

PURPOSE_MIN = 20


class ResearchExportForm(FlaskForm):
    purpose = TextAreaField(_l("Purpose of the export"), validators=[DataRequired(), Length(
        min=PURPOSE_MIN, max=2000, message=_l("Describe the purpose in %(min)d to %(max)d characters.", min=PURPOSE_MIN, max=2000))])
    approved_by = StringField(_l("Approved by (name and body, e.g. the ethics committee)"), validators=[
        DataRequired(), Length(max=120)])
    approval_reference = StringField(_l("Approval reference"), validators=[DataRequired(), Length(max=120)])
    link_to = SelectField(_l("Pseudonyms"), coerce=int, default=0)

    def offer_links(self, earlier):
        self.link_to.choices = [(0, _l("New pseudonyms, not linkable to any other export"))] + [
            (job.id, _l("The same as research export %(id)s (%(ref)s)", id=job.id, ref=job.approval_reference))
            for job in earlier]
