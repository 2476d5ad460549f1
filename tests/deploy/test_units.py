"""deploy/systemd/: systemd accepts every unit (systemd-analyze verify), with the repository standing in for
/srv/xinqiao; the gunicorn unit's command line is started for real in tests/deploy/test_nginx.py."""
import shutil
import subprocess

import pytest

from tests.reliability.server import ROOT

ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed: unit files not verified")
def test_systemd_accepts_every_unit(tmp_path):
    units = sorted((ROOT / "deploy" / "systemd").iterdir())
    assert {u.name for u in units} >= {"xinqiao.service", "xinqiao-sweep.service", "xinqiao-sweep.timer",
                                       "xinqiao-backup.service", "xinqiao-backup.timer"}
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/xinqiao", str(ROOT)))
    result = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, sorted(tmp_path.iterdir()))],
                            capture_output=True, text=True)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if line.strip()]
    assert result.returncode == 0 and not complaints, complaints
    # Every timer starts a service that exists.
    for timer in tmp_path.glob("*.timer"):
        assert (tmp_path / timer.name.replace(".timer", ".service")).exists()
