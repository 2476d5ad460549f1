"""A province-sized `flask bench seed` COPYs without the big tables' secondary indexes and foreign keys and builds
them again after: the schema it leaves is the one the migrations made (PostgreSQL only; SQLite keeps them)."""
import pytest
from sqlalchemy import text

from app.dashboards import benchseed
from app.extensions import db

INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2"
CONSTRAINTS = ("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
               "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2")


def test_the_seed_rebuilds_what_it_dropped(app, monkeypatch):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the indexes are dropped and rebuilt on PostgreSQL only")
        before = (db.session.execute(text(INDEXES)).all(), db.session.execute(text(CONSTRAINTS)).all())
        monkeypatch.setattr(benchseed, "DEFER_INDEXES_FROM", 1)
        dropped = []
        real_execute = db.session.execute

        def execute(statement, *args, **kwargs):
            if str(statement).startswith(("DROP INDEX", "ALTER TABLE")) and "DROP" in str(statement):
                dropped.append(str(statement))
            return real_execute(statement, *args, **kwargs)

        monkeypatch.setattr(db.session, "execute", execute)
        info = benchseed.seed(students=90, responses=300, schools=2, echo=lambda *_: None)
        monkeypatch.undo()
        after = (db.session.execute(text(INDEXES)).all(), db.session.execute(text(CONSTRAINTS)).all())
        assert info["responses"] > 0
        assert any(s.startswith("DROP INDEX") for s in dropped) and any("DROP CONSTRAINT" in s for s in dropped)
        assert after == before
