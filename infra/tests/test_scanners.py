"""cfn-lint and checkov over infra/template.yaml.

cfn-lint: zero errors and zero warnings, informational findings included, in
every region (the run must print nothing). checkov: zero failed checks; every
suppression sits in the template's resource Metadata with a written reason,
and each one is needed (without the suppressions exactly those checks fail).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

import stack

TEMPLATE = str(stack.TEMPLATE_PATH)


def run_cfn_lint(path: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
         "--include-checks", "I", "--format", "parseable", *extra, "--", path],
        capture_output=True, text=True, timeout=300,
    )


def checkov_command() -> list[str]:
    """checkov lives in its own virtualenv (it pins an older boto3 than moto
    wants); infra/test.sh passes its interpreter in DOCVAULT_CHECKOV_PYTHON."""
    py = os.environ.get("DOCVAULT_CHECKOV_PYTHON")
    if py:
        return shlex.split(py) + ["-m", "checkov.main"]
    try:
        import checkov  # noqa: F401
    except ImportError:
        pytest.fail("checkov is not installed: run the infra tests through `bash infra/test.sh`")
    return [sys.executable, "-m", "checkov.main"]


def run_checkov(path: str) -> dict:
    # --skip-download, BC_SKIP_MAPPING and CKV_SKIP_PACKAGE_UPDATE_CHECK keep
    # checkov offline (by default it calls its vendor's API and PyPI).
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE")
    proc = subprocess.run(
        checkov_command() + ["-f", path, "--framework", "cloudformation", "--skip-download",
                             "--output", "json"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.stdout.strip(), f"checkov printed nothing (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    assert report["check_type"] == "cloudformation", report.get("check_type")
    return report


def test_cfn_lint_reports_nothing():
    # Every region cfn-lint knows: the stack must deploy anywhere unchanged.
    proc = run_cfn_lint(TEMPLATE, "--regions", "ALL_REGIONS")
    assert proc.returncode == 0 and proc.stdout.strip() == "", (
        f"cfn-lint rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )


def test_cfn_lint_check_bites(tmp_path):
    """The same run flags the spec's Lambda runtime (python3.9 is deprecated:
    W2531 or, once creation is disabled, E2533)."""
    t = stack.load_template()
    t["Resources"]["BackupLambdaFunction"]["Properties"]["Runtime"] = "python3.9"
    t["Resources"]["BackupLambdaFunction"]["Properties"]["Handler"] = "index.lambda_handler"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(t))
    proc = run_cfn_lint(str(path))
    assert proc.returncode != 0 and re.search(r":[EW]253[13]:", proc.stdout), proc.stdout


def template_suppressions(template: dict) -> dict[tuple[str, str], str]:
    found = {}
    for name, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found[(skip["id"], f"{res['Type']}.{name}")] = skip.get("comment", "")
    return found


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    return run_checkov(TEMPLATE)


def test_checkov_has_no_failed_checks(checkov_report):
    summary = checkov_report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in checkov_report["results"].get("failed_checks", [])]
    assert summary["failed"] == 0 and not failed, failed
    assert summary["parsing_errors"] == 0
    # It really scanned the stack (not an empty or unparsed file).
    assert summary["passed"] >= 30, summary
    assert summary["resource_count"] >= 20, summary


def test_checkov_suppressions_are_justified_and_reported(template, checkov_report):
    suppressions = template_suppressions(template)
    assert suppressions, "expected the documented suppressions"
    for key, reason in suppressions.items():
        assert len(reason.split()) >= 12, f"{key}: the suppression needs a real reason, got {reason!r}"
    skipped = {(c["check_id"], c["resource"]) for c in checkov_report["results"].get("skipped_checks", [])}
    assert skipped == set(suppressions), (
        "checkov's skipped checks differ from the template's suppressions "
        f"(a suppression of a check that does not run is dead weight): {skipped ^ set(suppressions)}"
    )


def test_each_checkov_suppression_is_needed(template, tmp_path):
    """Without the suppression metadata exactly the suppressed checks fail."""
    suppressions = template_suppressions(template)
    bare = stack.load_template()
    for res in bare["Resources"].values():
        res.pop("Metadata", None)
    path = tmp_path / "unsuppressed.json"
    path.write_text(json.dumps(bare))
    report = run_checkov(str(path))
    failed = {
        (c["check_id"], c["resource"].replace(str(path), "")) for c in report["results"].get("failed_checks", [])
    }
    assert failed == set(suppressions), failed ^ set(suppressions)
