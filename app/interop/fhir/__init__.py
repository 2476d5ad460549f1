"""FHIR R4 for the partner hospital and the district (issue 21).

- resources.py  maps scales, responses, scores, students, referrals and return decisions to FHIR R4 resources;
- record.py     what a hospital's API client may read: the file its doctors see (app/auth/policy.py,
                app/files/handover.py), nothing of its own;
- clients.py    the hospital API clients (a secret shown once, stored hashed, revocable);
- views.py      the read-only API under /fhir/R4 (bearer token, application/fhir+json);
- bulk.py       the district's Bulk Data export (NDJSON files written by a job, removed after a set time);
- admin_views.py the admin's pages for clients and exports.
"""
