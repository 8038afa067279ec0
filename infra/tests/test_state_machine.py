"""The scale-out state machine's definition, as the stack deploys it, checked by asl-validator
(the npm package: Amazon States Language, Distributed Map, ItemReader and ItemBatcher), and
shown to catch broken definitions. (Its properties are in properties.check_state_machine; it
runs on moto, with the real bootstrap, in host-lambda/tests/e2e/test_lambda_scale_out.py.)"""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest

import properties as P


def validate(definition: dict, tmp_path) -> subprocess.CompletedProcess:
    binary = os.environ.get("DOCVAULT_ASL_VALIDATOR")
    if not binary:
        pytest.fail("$DOCVAULT_ASL_VALIDATOR must name asl-validator (infra/test.sh installs it)")
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition))
    return subprocess.run([binary, "--json-path", str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("batch,concurrency", [(1, 40), (25, 1000)])
def test_the_deployed_definition_is_valid(template, tmp_path, batch, concurrency):
    done = validate(P.definition(template, batch, concurrency), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def broken(template, edit) -> dict:
    d = copy.deepcopy(P.definition(template))
    edit(d)
    return d


BROKEN = {
    "batch-size-not-a-number": lambda d: d["States"]["Shards"]["ItemBatcher"].update(MaxItemsPerBatch="many"),
    "next-state-missing": lambda d: d["States"]["Commit"].update(Next="Nowhere"),
    "map-without-processor": lambda d: d["States"]["Shards"].pop("ItemProcessor"),
    "unknown-state-type": lambda d: d["States"]["Done"].update(Type="Finish"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_asl_validator_catches_a_broken_definition(template, tmp_path, name):
    done = validate(broken(template, BROKEN[name]), tmp_path)
    assert done.returncode != 0, f"{name} passed: {done.stdout}"
    assert "invalid" in done.stdout + done.stderr
