"""ICD-10 chapter V (F00–F99) categories used in child and adolescent mental health (WHO ICD-10, 2019)."""
from flask_babel import lazy_gettext as _l

F_CODES = [
    ("F32", _l("F32 Depressive episode")),
    ("F33", _l("F33 Recurrent depressive disorder")),
    ("F31", _l("F31 Bipolar affective disorder")),
    ("F34", _l("F34 Persistent mood disorders")),
    ("F40", _l("F40 Phobic anxiety disorders")),
    ("F41", _l("F41 Other anxiety disorders")),
    ("F42", _l("F42 Obsessive-compulsive disorder")),
    ("F43", _l("F43 Reaction to severe stress, and adjustment disorders")),
    ("F50", _l("F50 Eating disorders")),
    ("F51", _l("F51 Nonorganic sleep disorders")),
    ("F20", _l("F20 Schizophrenia")),
    ("F23", _l("F23 Acute and transient psychotic disorders")),
    ("F60", _l("F60 Specific personality disorders")),
    ("F84", _l("F84 Pervasive developmental disorders")),
    ("F90", _l("F90 Hyperkinetic disorders")),
    ("F91", _l("F91 Conduct disorders")),
    ("F92", _l("F92 Mixed disorders of conduct and emotions")),
    ("F93", _l("F93 Emotional disorders with onset specific to childhood")),
    ("F94", _l("F94 Disorders of social functioning with onset specific to childhood and adolescence")),
    ("F98", _l("F98 Other behavioural and emotional disorders with onset usually occurring in childhood and adolescence")),
]
F_CODE_SET = {code for code, _ in F_CODES}
