# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The way from a clone to one's own playbook, as README.md, docs/getting-started.md and CONTRIBUTING.md promise it.

Run with `make ecosystem`. The only server is the simulator, on loopback; `make sim` and `make demo` are run for real.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
GUIDES = ("README.md", "docs/getting-started.md")
SAIL_VARIABLES = ["SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET"]


def read(relative):
    return (ROOT / relative).read_text(encoding="utf-8")


def make(*args, timeout=120, env=None):
    """Run make in ROOT with the tools of the running venv; return the CompletedProcess (stdout and stderr merged)."""
    full_env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))
    full_env.update(env or {})
    return subprocess.run(["make", "--no-print-directory"] + list(args), cwd=str(ROOT), env=full_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)


def code_blocks(text, language):
    return re.findall(r"^```%s\n(.*?)^```" % language, text, re.M | re.S)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- make help --------------------------------------------------------------------------------------------------------


def makefile_targets():
    """Every target of a rule in the Makefile (not file targets like $(VENV)/.installed, not target-specific vars)."""
    targets = []
    for names, rest in re.findall(r"^([a-z][a-z0-9-]*(?:[ \t]+[a-z][a-z0-9-]*)*)[ \t]*:(?!=)(.*)$", MAKEFILE, re.M):
        if re.match(r"\s*(export\s+|override\s+)?[A-Za-z_]+\s*[:?+]?=", rest):
            continue
        targets.extend(names.split())
    return targets


def test_make_help_lists_every_target_once_with_one_line():
    targets = makefile_targets()
    assert {"help", "demo", "sim", "test", "units", "integration", "ecosystem"} <= set(targets), targets
    result = make("help", timeout=30)
    assert result.returncode == 0, result.stdout
    listed = re.findall(r"^  make (\S+) +(\S.*)$", result.stdout, re.M)
    names = [name for name, _text in listed]
    assert sorted(names) == sorted(set(names)), "make help lists a target twice:\n" + result.stdout
    assert set(names) == set(targets), (
        "not in make help (add '## text' after the target): %s; listed but no target: %s"
        % (sorted(set(targets) - set(names)), sorted(set(names) - set(targets))))
    assert not [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("  make ")
                and len(line) > 80], "headings stay short"


def test_makefile_has_one_phony_naming_every_target():
    phony = re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", MAKEFILE, re.M)
    assert len(phony) == 1, "one .PHONY for the whole Makefile, found %d" % len(phony)
    declared = set(phony[0].replace("\\\n", " ").split())
    assert set(makefile_targets()) == declared, "targets not in .PHONY: %s; in .PHONY but no target: %s" % (
        sorted(set(makefile_targets()) - declared), sorted(declared - set(makefile_targets())))


def test_makefile_forces_no_colour_globally_and_points_to_docs_not_issues():
    assert not re.search(r"^export ANSIBLE_NOCOLOR", MAKEFILE, re.M), "only the suites that parse output force it"
    assert not re.search(r"#.*\bissue\s*#?\d+", MAKEFILE, re.I), "comments point to a doc, not to an issue"
    for doc in set(re.findall(r"\b((?:docs/)?[A-Za-z_-]+\.md)\b", MAKEFILE)):
        assert (ROOT / doc).is_file(), "the Makefile points to %s, which does not exist" % doc


# -- the simulator as README.md and docs/getting-started.md tell a newcomer to use it ------------------------------------


def sail_exports(guide):
    """The SAIL_* exports of the guide's `make sim` way, as a dict."""
    blocks = [block for block in code_blocks(read(guide), "sh") if "export SAIL_BASE_URL=http://127.0.0.1" in block]
    assert len(blocks) == 1, "%s: one sh block exports SAIL_BASE_URL for make sim, found %d" % (guide, len(blocks))
    exports = dict(re.findall(r"^export (SAIL_[A-Z_]+)=(\S+)$", blocks[0], re.M))
    assert sorted(exports) == sorted(SAIL_VARIABLES), "%s: %s" % (guide, exports)
    return exports


def simulator_clients():
    """{client id: secret} of the simulator's seeded clients, read from its code (parsed, not imported)."""
    tree = ast.parse(read("tests/simulator/isc_sim/api.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CLIENTS" for t in node.targets):
            clients = {}
            for key, value in zip(node.value.keys, node.value.values):
                fields = {k.value: v for k, v in zip(value.keys, value.values) if isinstance(k, ast.Constant)}
                clients[key.value] = fields["secret"].value
            return clients
    pytest.fail("tests/simulator/isc_sim/api.py has no CLIENTS")


@pytest.fixture(scope="module")
def make_sim():
    """`make sim` on a free port, as a newcomer starts it; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(["make", "--no-print-directory", "sim", "SIM_PORT=%d" % port], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/__sim__/health", timeout=2) as answer:
                    if json.load(answer).get("ok"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("make sim did not come up on %s:\n%s" % (url, proc.communicate(timeout=10)[0]))
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_make_sim_on_a_busy_port_names_the_port_and_how_to_choose_another():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = make("sim", "SIM_PORT=%d" % port, timeout=60)
    assert result.returncode != 0, result.stdout
    assert "port %d" % port in result.stdout and "SIM_PORT=" in result.stdout, result.stdout
    assert "Traceback" not in result.stdout, result.stdout


@pytest.mark.parametrize("guide", GUIDES)
def test_guides_name_the_port_of_make_sim_and_its_seeded_credentials(guide):
    exports = sail_exports(guide)
    default_port = re.search(r"^SIM_PORT \?= (\d+)$", MAKEFILE, re.M).group(1)
    assert exports["SAIL_BASE_URL"] == "http://127.0.0.1:%s" % default_port
    assert "make sim" in read(guide)
    clients = simulator_clients()
    assert clients.get(exports["SAIL_CLIENT_ID"]) == exports["SAIL_CLIENT_SECRET"], \
        "%s: %s are not seeded credentials of the simulator (%s)" % (guide, exports, sorted(clients))


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_credentials_get_a_token_with_user_context_from_make_sim(guide, make_sim):
    exports = sail_exports(guide)
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": exports["SAIL_CLIENT_ID"],
                                   "client_secret": exports["SAIL_CLIENT_SECRET"]}).encode("ascii")
    with urllib.request.urlopen(make_sim + "/oauth/token", data=body, timeout=10) as answer:
        token = json.load(answer)
    assert token.get("access_token") and token.get("identity_id"), "a personal access token has a user context"


def test_first_own_playbook_of_getting_started_runs_against_make_sim(make_sim, tmp_path):
    guide = read("docs/getting-started.md")
    section = guide.split("## 3. Your own playbook against the simulated tenant", 1)[1].split("\n## ", 1)[0]
    playbooks = code_blocks(section, "yaml")
    assert len(playbooks) == 1, "the section shows one playbook"
    playbook = tmp_path / "my_playbook.yml"
    playbook.write_text(playbooks[0], encoding="utf-8")
    # The collection comes from the clone as way 2 links it.
    link = tmp_path / "dev-collections" / "ansible_collections" / "identitynow" / "tasks"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    env = dict(os.environ, **sail_exports("docs/getting-started.md"))
    env.update(SAIL_BASE_URL=make_sim, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "dev-collections"))
    env.pop("SAIL_ACCESS_TOKEN", None)
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)], cwd=str(tmp_path),
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180,
                            check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r'"msg": ".+, source [0-9a-f]{32}: ', result.stdout), result.stdout[-6000:]


# -- fail_on_status --------------------------------------------------------------------------------------------------


def recommended_fail_on_status():
    tree = ast.parse(read("plugins/module_utils/task_record.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [
                "RECOMMENDED_FAIL_ON_STATUS"]:
            return list(ast.literal_eval(node.value))
    pytest.fail("plugins/module_utils/task_record.py has no RECOMMENDED_FAIL_ON_STATUS")


def fail_on_status_examples():
    """(file, line number, statuses, context) of every fail_on_status list written in docs, examples and defaults."""
    files = [ROOT / name for name in ("README.md", "CONTRIBUTING.md")]
    files += sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "roles").glob("*/README.md"))
    files += sorted((ROOT / "roles").glob("*/defaults/main.yml")) + sorted((ROOT / "plugins" / "modules").glob("*.py"))
    files += sorted((ROOT / "playbooks").glob("*.yml")) + sorted((ROOT / "examples").rglob("*.y*ml"))
    pattern = re.compile(r"fail_on_status`?\s*(?::|=|\|\s*`)\s*\[([^\]]*)\]")
    found = []
    for path in files:
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            for match in pattern.finditer(line):
                statuses = [s.strip().strip("'\"").upper() for s in match.group(1).split(",") if s.strip()]
                context = "\n".join(lines[max(0, number - 3):number])
                found.append((str(path.relative_to(ROOT)), number, statuses, context))
    return found


def test_every_fail_on_status_example_is_the_recommended_set_or_says_why():
    recommended = recommended_fail_on_status()
    assert recommended == ["ERROR", "TERMINATED", "TEMPERROR"]
    examples = fail_on_status_examples()
    files = {example[0] for example in examples}
    assert {"README.md", "docs/awx.md"} <= files, "README.md and docs/awx.md show fail_on_status: %s" % sorted(files)
    wrong = ["%s:%d: %s" % (name, number, statuses) for name, number, statuses, context in examples
             if sorted(statuses) != sorted(recommended) and "recommended" not in context.lower()]
    assert not wrong, ("fail_on_status differs from the recommended %s without saying why (a comment or sentence with "
                       "'recommended' on the line or the two before):\n%s" % (recommended, "\n".join(wrong)))


# -- make demo -------------------------------------------------------------------------------------------------------


def demo_step_names():
    """Every 'Step N of M' task name in playbooks/demo.yml, and whether it sits on a task or on a block."""
    steps = []

    def walk(tasks):
        for task in tasks or []:
            name = str(task.get("name", ""))
            if re.match(r"Step \d+ of \d+\b", name):
                steps.append((name, "block" in task))
            for key in ("block", "rescue", "always"):
                walk(task.get(key))

    for play in yaml.safe_load(read("playbooks/demo.yml")):
        walk(play.get("tasks"))
    return steps


def test_demo_steps_are_numbered_and_each_is_a_task_not_a_block():
    steps = demo_step_names()
    assert steps, "playbooks/demo.yml names its steps 'Step N of M - ...'"
    numbers = [tuple(int(n) for n in re.match(r"Step (\d+) of (\d+)", name).groups()) for name, _is_block in steps]
    total = numbers[0][1]
    assert numbers == [(n, total) for n in range(1, total + 1)], numbers
    blocks = [name for name, is_block in steps if is_block]
    assert not blocks, "a block prints no heading, so these steps never show: %s" % blocks


def demo_closing_lines():
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", MAKEFILE, re.M).group(1)
    return re.findall(r'^\t@echo "(.*)"$', recipe, re.M)


def test_demo_next_line_points_to_a_section_that_exists():
    next_line = demo_closing_lines()[1]
    doc, section = re.search(r"([\w/-]+\.md) shows \((.+)\)\.$", next_line).groups()
    headings = re.findall(r"^#+ (.+)$", read(doc), re.M)
    assert section in headings, "%s has no section %r" % (doc, section)


def test_make_demo_prints_every_step_and_ends_with_what_was_shown_and_what_next(tmp_path):
    closing = demo_closing_lines()
    assert len(closing) == 2 and closing[0].startswith("Shown: ") and closing[1].startswith("Next: "), closing
    venv = BIN.parent
    result = make("demo", "COLLECTIONS=%s" % tmp_path, "VENV=%s" % venv, "BIN=%s" % BIN, timeout=600)
    output = result.stdout
    assert result.returncode == 0, output[-8000:]
    for name, _is_block in demo_step_names():
        assert "TASK [%s]" % name in output, "the heading of %r is not printed" % name
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-2:] == closing, lines[-4:]
    assert lines[-3].startswith("localhost ") and "failed=0" in lines[-3], "the two lines follow the play recap"
    for plumbing in ("git ls-files", "tar -cf", "with_sim.py", "ansible-playbook -i", "pip install"):
        assert plumbing not in output, "make demo echoes its plumbing: %s" % plumbing
    headers = re.findall(r"^TASK \[(?:[\w.]+ : )?(.*)\] \**$", output, re.M)
    assert headers
    dangling = [h for h in headers if re.search(r"\b(to|the|a|an|of|and|with|from|into)$", h, re.I)]
    assert not dangling, "task names that end mid-sentence: %s" % sorted(set(dangling))


def test_make_demo_needs_only_ansible_core_requests_and_jsonpatch():
    recipe = re.search(r"^demo:(.*)$", MAKEFILE, re.M).group(1)
    assert "venv-demo" in recipe.split("##")[0] and " venv " not in " %s " % recipe.split("##")[0], recipe
    demo_requirements = [line.split("#")[0].strip() for line in read("requirements-demo.txt").splitlines()]
    names = sorted(re.split(r"[<>=!~ ]", line)[0] for line in demo_requirements if line and not line.startswith("-"))
    runtime = sorted(re.split(r"[<>=!~ ]", line.split("#")[0].strip())[0]
                     for line in read("requirements.txt").splitlines() if line.split("#")[0].strip())
    assert names == ["ansible-core"] and "-r requirements.txt" in demo_requirements, demo_requirements
    assert runtime == ["jsonpatch", "requests"], runtime


# -- the map of CONTRIBUTING.md and the support table of README.md ------------------------------------------------------


def contributing_paths():
    text = read("CONTRIBUTING.md")
    table = text.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:plugins|roles|extensions|tests|docs|meta|playbooks|changelogs|examples)/[^`\s]*)`",
                          table))


def test_contributing_map_names_only_files_that_exist():
    missing = sorted(path for path in contributing_paths() if not (ROOT / path.rstrip("/")).exists())
    assert not missing, "CONTRIBUTING.md names what does not exist: %s" % missing


def test_contributing_map_names_every_plugin_role_and_event_source():
    named = contributing_paths()
    wanted = [p for p in (ROOT / "plugins").glob("*/*.py") if p.name != "__init__.py"]
    wanted += list((ROOT / "extensions" / "eda" / "plugins" / "event_source").glob("*.py"))
    wanted += [p for p in (ROOT / "roles").iterdir() if p.is_dir()] if (ROOT / "roles").is_dir() else []
    unnamed = []
    for path in sorted(set(wanted)):
        relative = str(path.relative_to(ROOT))
        if not any(relative == name.rstrip("/") or relative.startswith(name) and name.endswith("/") for name in named):
            unnamed.append(relative)
    assert not unnamed, "CONTRIBUTING.md's 'Where things live' does not name: %s" % unnamed


def test_support_table_covers_every_tested_version():
    table = read("README.md").split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    cores = re.findall(r"^ansible-core==(\d+\.\d+)\.\d+", read("requirements-demo.txt"), re.M)
    cores += [v.rsplit(".", 1)[0] for v in re.search(r"^SANITY_CORES \?= (.+)$", MAKEFILE, re.M).group(1).split()]
    for core in cores:
        assert re.search(r"^\| ansible-core %s\b" % re.escape(core), table, re.M), "no row for ansible-core %s" % core
    pythons = re.search(r"^TARGET_PYTHONS \?= (.+)$", MAKEFILE, re.M).group(1).split() + ["3.11"]
    for python in pythons:
        assert re.search(r"^\| Python [^|]*\b%s\b" % re.escape(python), table, re.M), "no row for Python %s" % python
    versions = re.findall(r"^\| `(v\d+|beta|v1)`", read("docs/api-versions.md"), re.M)
    assert versions
    for version in versions:
        assert re.search(r"^\| ISC API [^|]*`%s`" % version, table, re.M), "no row for API version %s" % version
