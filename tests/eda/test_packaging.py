# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What ships with the event source: its documentation against its options, meta/extensions.yml, the rulebook,
the remediation playbook and the decision environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EDA = ROOT / "extensions" / "eda"
RULEBOOK = EDA / "rulebooks" / "remediate_failed_aggregation.yml"
PLAYBOOK = ROOT / "playbooks" / "remediate_failed_aggregation.yml"


def documentation(module):
    return yaml.safe_load(module.DOCUMENTATION)


def test_documentation_matches_the_options(plugin_module):
    """Every option is documented with the type, default, choices and elements of the argument spec, and the
    connection options are the modules' (isc_argument_spec) with their SAIL_* fallbacks."""
    doc = documentation(plugin_module)
    assert doc["short_description"] and doc["description"]
    spec = plugin_module.argument_spec()
    assert sorted(doc["options"]) == sorted(spec)
    for name, option in spec.items():
        documented = doc["options"][name]
        assert documented["description"], name
        assert documented.get("type", "str") == option.get("type", "str"), name
        assert documented.get("default") == option.get("default"), name
        assert documented.get("choices") == option.get("choices"), name
        assert documented.get("elements") == option.get("elements"), name
    assert spec["client_secret"]["no_log"] and spec["access_token"]["no_log"]
    for name, variable in (("client_id", "SAIL_CLIENT_ID"), ("client_secret", "SAIL_CLIENT_SECRET")):
        assert spec[name]["fallback"][1] == [variable]
        assert "E(%s)" % variable in " ".join(doc["options"][name]["description"])
    assert doc["options"]["interval"]["default"] == plugin_module.DEFAULT_INTERVAL
    assert "At least %g" % plugin_module.MIN_INTERVAL in " ".join(doc["options"]["interval"]["description"])


def test_documented_event_keys_are_the_keys_of_an_event(plugin_module):
    text = " ".join(documentation(plugin_module)["description"])
    event = plugin_module.event_for("finished", {"id": "a", "created": "2026-01-01T00:00:00Z"})
    for key in event:
        assert "C(%s)" % key in text, "the event key %s is not documented" % key


def test_examples_use_only_documented_options(plugin_module):
    options = set(documentation(plugin_module)["options"])
    for rulebook in (yaml.safe_load(plugin_module.EXAMPLES), yaml.safe_load(RULEBOOK.read_text(encoding="utf-8"))):
        sources = [source for ruleset in rulebook for source in ruleset["sources"]]
        args = [source["identitynow.tasks.task_status"] for source in sources]
        assert args and all(set(a) <= options for a in args), args
        for rule in (rule for ruleset in rulebook for rule in ruleset["rules"]):
            name = rule["action"].get("run_playbook", {}).get("name", "")
            if name.startswith("identitynow.tasks."):
                assert (ROOT / "playbooks" / (name.split(".")[-1] + ".yml")).is_file(), "%s does not ship" % name


def test_rulebooks_match_the_rulebook_schema(plugin_module):
    import jsonschema
    import ansible_rulebook

    schema_path = Path(ansible_rulebook.__file__).parent / "schema" / "ruleset_schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    for rulebook in (yaml.safe_load(plugin_module.EXAMPLES), yaml.safe_load(RULEBOOK.read_text(encoding="utf-8"))):
        jsonschema.validate(rulebook, schema)


def test_the_rulebook_runs_a_playbook_that_ships():
    rulebook = yaml.safe_load(RULEBOOK.read_text(encoding="utf-8"))
    names = [rule["action"]["run_playbook"]["name"] for ruleset in rulebook for rule in ruleset["rules"]]
    assert names == ["identitynow.tasks.remediate_failed_aggregation"]
    assert PLAYBOOK.is_file()
    # The playbook restarts with the module when the collection has it (it does since 0.2.0).
    assert (ROOT / "plugins" / "modules" / "source_aggregation.py").is_file()
    assert "identitynow.tasks.source_aggregation:" in PLAYBOOK.read_text(encoding="utf-8")


def test_the_playbook_passes_a_syntax_check(tmp_path):
    collections = ROOT.parents[2] if ROOT.parts[-3:] == ("ansible_collections", "identitynow", "tasks") else None
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    result = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(PLAYBOOK)],
                            cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_meta_extensions_declares_the_event_source():
    meta = yaml.safe_load((ROOT / "meta" / "extensions.yml").read_text(encoding="utf-8"))
    assert [e["args"]["ext_dir"] for e in meta["extensions"]] == ["eda/plugins/event_source"]
    sources = sorted(p.name for p in (EDA / "plugins" / "event_source").glob("*.py"))
    assert sources == ["task_status.py"], "every .py there is listed on Galaxy as an event source"
    text = (EDA / "plugins" / "event_source" / "task_status.py").read_text(encoding="utf-8")
    assert "async def main(queue, args)" in text and "DOCUMENTATION = r" in text and "EXAMPLES = r" in text


def test_decision_environment_holds_java_rulebook_and_the_collection(tmp_path):
    definition = yaml.safe_load((EDA / "decision-environment.yml").read_text(encoding="utf-8"))
    assert definition["version"] == 3
    context = tmp_path / "context"
    result = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(EDA / "decision-environment.yml"),
                             "-c", str(context), "--output-filename", "Containerfile"], cwd=str(tmp_path),
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    build = context / "_build"
    assert "java-17-openjdk-headless" in (build / "bindep.txt").read_text(encoding="utf-8")
    assert "ansible-rulebook" in (build / "requirements.txt").read_text(encoding="utf-8")
    collections = yaml.safe_load((build / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    assert [c["name"] for c in collections] == ["identitynow.tasks"]
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "ENV JAVA_HOME=/usr/lib/jvm/jre-17-openjdk" in containerfile
    assert "ansible-core>=2.17.0" in containerfile
