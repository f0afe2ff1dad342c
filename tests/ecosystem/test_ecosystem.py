# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection in the Ansible tool chain: one test per promise of docs/awx.md and issue 7.

Run with `make ecosystem` (after `make collection`). The tools come from the virtual environment
that runs pytest. Nothing here reaches a network: the only server is the simulator on loopback.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAMESPACE, NAME = "identitynow", "tasks"
FQCN = "%s.%s" % (NAMESPACE, NAME)


def _collections_path():
    """The folder holding ansible_collections/identitynow/tasks: build/collections (make collection),
    or the folder above ROOT when the tests run inside such a layout."""
    if ROOT.parts[-3:-2] == ("ansible_collections",) and ROOT.parts[-2:] == (NAMESPACE, NAME):
        return ROOT.parents[2]
    return ROOT / "build" / "collections"


COLLECTIONS = _collections_path()
COLL = COLLECTIONS / "ansible_collections" / NAMESPACE / NAME


def tool(name):
    path = BIN / name
    if not path.exists():
        pytest.fail("%s is not installed next to %s: run make venv" % (name, sys.executable))
    return str(path)


def run(args, cwd=None, env=None, timeout=300):
    """Run a command with the venv's tools first on PATH; return the CompletedProcess."""
    full_env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
                    ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", NO_COLOR="1")
    full_env.update(env or {})
    return subprocess.run([str(a) for a in args], cwd=str(cwd or ROOT), env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def check(result, what):
    assert result.returncode == 0, "%s failed (rc %s)\nstdout:\n%s\nstderr:\n%s" % (
        what, result.returncode, result.stdout[-6000:], result.stderr[-6000:])
    return result


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def module_names(root=ROOT):
    return sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def role_names(root=ROOT):
    roles = root / "roles"
    return sorted(p.name for p in roles.iterdir() if p.is_dir()) if roles.is_dir() else []


def requirement_names(path):
    """Distribution names of a pip requirements file (no options, no -r lines), normalised."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        names.append(re.split(r"[\s;<>=!~\[]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


@pytest.fixture(scope="session")
def laid_out():
    """build/collections must hold the current tree (make collection)."""
    if not COLL.is_dir():
        pytest.fail("%s is missing: run make collection first (make ecosystem does)" % COLL)
    stale = [name for name in module_names() if not (COLL / "plugins" / "modules" / (name + ".py")).exists()]
    stale += [name for name in role_names() if not (COLL / "roles" / name).is_dir()]
    assert not stale, "build/collections lacks %s: run make collection" % ", ".join(stale)
    return COLLECTIONS


@pytest.fixture(scope="session")
def artifact(tmp_path_factory):
    """The artifact `ansible-galaxy collection build` makes of the tree."""
    out = tmp_path_factory.mktemp("artifact")
    check(run([tool("ansible-galaxy"), "collection", "build", "--output-path", out, ROOT]), "ansible-galaxy collection build")
    version = load_yaml(ROOT / "galaxy.yml")["version"]
    path = out / ("%s-%s-%s.tar.gz" % (NAMESPACE, NAME, version))
    assert path.is_file(), "no artifact %s in %s" % (path.name, sorted(os.listdir(out)))
    return path


@pytest.fixture(scope="session")
def installed(artifact, tmp_path_factory):
    """The artifact installed with ansible-galaxy into an empty collections path."""
    target = tmp_path_factory.mktemp("installed")
    # Only target as collections path: a copy elsewhere (build/collections) would be taken as installed.
    check(run([tool("ansible-galaxy"), "collection", "install", artifact, "-p", target], cwd=target,
              env=only_collections_path(target)), "ansible-galaxy collection install")
    assert (target / "ansible_collections" / NAMESPACE / NAME / "MANIFEST.json").is_file()
    return target


def only_collections_path(path):
    """Environment in which Ansible sees no collection but those under path."""
    return {"ANSIBLE_COLLECTIONS_PATH": str(path), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable}


# -- Execution environment ------------------------------------------------------------------------


def test_execution_environment_create_names_our_requirements(artifact, tmp_path):
    """meta/execution-environment.yml and the example EE: ansible-builder 3 makes a context whose build
    installs the collection and, by introspection, requests and jsonpatch."""
    meta = load_yaml(ROOT / "meta" / "execution-environment.yml")
    assert meta.get("version") == 1
    assert meta.get("dependencies", {}).get("python") == "requirements.txt"
    assert "system" not in meta.get("dependencies", {}), "no system packages are needed; drop bindep"
    runtime = requirement_names(ROOT / "requirements.txt")
    assert {"requests", "jsonpatch"} <= set(runtime)
    # Runtime only: every requirement is imported by the plugins (no test tools).
    imported = set()
    for source in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    unused = [name for name in runtime if name.replace("-", "_") not in imported]
    assert not unused, "requirements.txt lists %s, which no plugin imports (test tools go elsewhere)" % unused

    example = load_yaml(ROOT / "examples" / "execution-environment.yml")
    assert example["version"] == 3
    assert any(c.get("name") == FQCN for c in example["dependencies"]["galaxy"]["collections"])

    # The same definition, installing the artifact built from this tree instead of the published one.
    example["dependencies"]["galaxy"] = {"collections": [
        {"name": "collections/" + artifact.name, "type": "file"}]}
    example["additional_build_files"] = [{"src": str(artifact), "dest": "collections"}]
    definition = tmp_path / "execution-environment.yml"
    definition.write_text(yaml.safe_dump(example), encoding="utf-8")
    context = tmp_path / "context"
    check(run([tool("ansible-builder"), "create", "-f", definition, "-c", context,
               "--output-filename", "Containerfile"], cwd=tmp_path), "ansible-builder create")
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile
    build = context / "_build"
    assert (build / "collections" / artifact.name).is_file()
    assert load_yaml(build / "requirements.yml")["collections"][0]["name"] == "collections/" + artifact.name

    # The image build, without a container: its galaxy stage (in /build), then its introspect step.
    galaxy = tmp_path / "galaxy"
    check(run([tool("ansible-galaxy"), "collection", "install", "-r", "requirements.yml", "-p", galaxy],
              cwd=build, env=only_collections_path(galaxy)), "galaxy stage of the image build")
    assert (galaxy / "ansible_collections" / NAMESPACE / NAME / "MANIFEST.json").is_file()
    found = build / "introspected-requirements.txt"
    check(run([sys.executable, build / "scripts" / "introspect.py", "introspect", galaxy, "--write-pip", found]),
          "introspect step of the image build")
    names = requirement_names(found)
    assert "requests" in names and "jsonpatch" in names, found.read_text(encoding="utf-8")
    assert FQCN in found.read_text(encoding="utf-8"), "requirements should be attributed to %s" % FQCN


# -- AWX / AAP credential type --------------------------------------------------------------------


def connection_options():
    """{option: keywords of its spec} from isc_argument_spec() in connection.py, read without importing it."""
    tree = ast.parse((ROOT / "plugins" / "module_utils" / "connection.py").read_text(encoding="utf-8"))
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "isc_argument_spec"), None)
    assert func is not None, "isc_argument_spec() not found in connection.py"
    options = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
            for option in node.keywords:
                value = option.value
                if option.arg and isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
                    options[option.arg] = {kw.arg: kw.value for kw in value.keywords}
    assert options, "no options found in isc_argument_spec()"
    return tree, options


def collection_env_vars():
    """{variable: option} for every environment variable the connection code reads."""
    tree, options = connection_options()
    found = {}
    # env_fallback in the argument spec: option=dict(..., fallback=(env_fallback, ["VAR", ...]))
    for option, keywords in options.items():
        fallback = keywords.get("fallback")
        if isinstance(fallback, ast.Tuple) and len(fallback.elts) == 2:
            for var in ast.literal_eval(fallback.elts[1]):
                found[var] = option
    # Variables read directly: environ.get("VAR"), os.getenv("VAR"), environ["VAR"].
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("get", "getenv") and node.args:
            name = getattr(node.args[0], "value", None)
        elif isinstance(node, ast.Subscript):
            name = getattr(node.slice, "value", None)
        if isinstance(name, str) and name.startswith("SAIL_"):
            found.setdefault(name, None)
    for var, option in list(found.items()):
        if option is None:
            guess = var[len("SAIL_"):].lower()
            assert guess in options, "cannot tell which option %s stands for" % var
            found[var] = guess
    return found


def documented_env_vars():
    text = (ROOT / "plugins" / "doc_fragments" / "connection.py").read_text(encoding="utf-8")
    return set(re.findall(r"E\((SAIL_[A-Z0-9_]+)\)", text))


def no_log_options():
    _tree, options = connection_options()
    return {name for name, keywords in options.items() if getattr(keywords.get("no_log"), "value", False) is True}


def test_credential_type_injects_exactly_what_the_collection_reads():
    reads = collection_env_vars()
    assert reads, "no SAIL_* variable found in connection.py"
    assert documented_env_vars() == set(reads), "doc fragment and connection.py disagree on the variables"

    definition = load_yaml(ROOT / "extensions" / "awx" / "credential_type.yml")
    assert set(definition) >= {"name", "kind", "inputs", "injectors"}
    assert definition["kind"] == "cloud"
    injected = definition["injectors"]["env"]
    assert set(injected) == set(reads), "injector variables differ from the ones the modules read"
    assert set(definition["injectors"]) == {"env"}, "inject through the environment only"

    fields = {field["id"]: field for field in definition["inputs"]["fields"]}
    for field in fields.values():
        assert field.get("type", "string") in ("string", "boolean") and field.get("label")
    assert set(definition["inputs"].get("required", [])) <= set(fields)
    secret = no_log_options()
    for var, template in injected.items():
        match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", template)
        assert match and match.group(1) in fields, "%s: %r is not a plain input field" % (var, template)
        field = fields[match.group(1)]
        if reads[var] in secret:
            assert field.get("secret") is True, "%s carries no_log option %s: mark the field secret" % (var, reads[var])


def _resolve(environ, **options):
    """The connection the modules would use with this environment (env_fallback, then resolve_connection)."""
    sys.path.insert(0, str(COLLECTIONS))
    try:
        from ansible_collections.identitynow.tasks.plugins.module_utils import connection
    finally:
        sys.path.remove(str(COLLECTIONS))
    params = {}
    for name, spec in connection.isc_argument_spec().items():
        value = options.get(name, spec.get("default"))
        fallback = spec.get("fallback")
        if value is None and fallback:
            value = next((environ[v] for v in fallback[1] if v in environ), None)
        params[name] = value
    return connection.resolve_connection(params, environ=environ)


def _inject(definition, inputs):
    """Environment AWX injects: templates rendered like AWX does, a blank field as an empty string."""
    import jinja2.sandbox

    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return {var: env.from_string(tmpl).render(**inputs) for var, tmpl in definition["injectors"]["env"].items()}


def test_credential_type_blank_fields_do_not_hide_other_credentials(laid_out):
    definition = load_yaml(ROOT / "extensions" / "awx" / "credential_type.yml")
    url = "https://acme.api.identitynow.com"
    token_only = _resolve(_inject(definition, {"base_url": url, "access_token": "tok-123"}))
    assert (token_only["base_url"], token_only["access_token"]) == (url, "tok-123")
    assert not token_only["client_id"] and not token_only["client_secret"]
    both = _resolve(_inject(definition, {"base_url": url, "client_id": "id-1", "client_secret": "s-1",
                                         "access_token": "tok-123"}))
    assert (both["client_id"], both["client_secret"]) == ("id-1", "s-1") and not both["access_token"]
    # An option in the task wins over the credential.
    override = _resolve(_inject(definition, {"base_url": url, "client_id": "id-1", "client_secret": "s-1"}),
                        base_url="https://other.api.identitynow.com")
    assert override["base_url"] == "https://other.api.identitynow.com"


MOCK_CREDENTIAL_TYPE = '''#!/usr/bin/python
from __future__ import annotations
import json
import os
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        name=dict(required=True), description=dict(), kind=dict(), inputs=dict(type="dict"),
        injectors=dict(type="dict"), state=dict(default="present")))
    with open(os.environ["MOCK_AWX_OUTPUT"], "w") as handle:
        json.dump(module.params, handle)
    module.exit_json(changed=True)


if __name__ == "__main__":
    main()
'''


def test_register_playbook_sends_the_definition_file(tmp_path):
    """playbooks/register_awx_credential_type.yml passes the file's definition, unchanged, to
    awx.awx.credential_type (a stand-in module that echoes its arguments)."""
    playbook = ROOT / "playbooks" / "register_awx_credential_type.yml"
    text = playbook.read_text(encoding="utf-8")
    assert "extensions/awx/credential_type.yml" in text
    assert "SAIL_" not in text, "the playbook must load the definition, not repeat it"
    mock = tmp_path / "ansible_collections" / "awx" / "awx"
    (mock / "plugins" / "modules").mkdir(parents=True)
    (mock / "galaxy.yml").write_text("namespace: awx\nname: awx\nversion: 99.0.0\n", encoding="utf-8")
    (mock / "plugins" / "modules" / "credential_type.py").write_text(MOCK_CREDENTIAL_TYPE, encoding="utf-8")
    output = tmp_path / "sent.json"
    check(run([tool("ansible-playbook"), "-i", "localhost,", playbook], cwd=tmp_path,
              env=dict(only_collections_path(tmp_path), MOCK_AWX_OUTPUT=str(output))),
          "register_awx_credential_type.yml")
    sent = json.loads(output.read_text(encoding="utf-8"))
    definition = load_yaml(ROOT / "extensions" / "awx" / "credential_type.yml")
    for key in ("name", "description", "kind", "inputs", "injectors"):
        assert sent[key] == definition[key], "%s differs from the file" % key
    assert sent["state"] == "present"


# -- module_defaults action group ------------------------------------------------------------------


def test_action_group_lists_every_module():
    runtime = load_yaml(ROOT / "meta" / "runtime.yml")
    group = runtime.get("action_groups", {}).get("isc")
    assert group, "meta/runtime.yml has no action group isc"
    modules = module_names()
    assert modules, "no modules in plugins/modules"
    listed = [entry for entry in group if isinstance(entry, str)]
    assert sorted(set(listed)) == modules, "group isc %s != modules %s" % (sorted(listed), modules)
    assert len(listed) == len(set(listed)), "duplicates in group isc"
    for name in modules:
        source = (ROOT / "plugins" / "modules" / (name + ".py")).read_text(encoding="utf-8")
        assert "identitynow.tasks.connection.attributes" in source, \
            "%s does not document its action group (doc fragment identitynow.tasks.connection.attributes)" % name


# -- ansible-doc -----------------------------------------------------------------------------------


def test_ansible_doc_renders_modules_and_roles(laid_out):
    env = only_collections_path(laid_out)
    modules = ["%s.%s" % (FQCN, name) for name in module_names()]
    result = check(run([tool("ansible-doc"), "-t", "module"] + modules, env=env), "ansible-doc modules")
    assert result.stderr.strip() == "", "ansible-doc warned:\n" + result.stderr
    for name in modules:
        assert name in result.stdout

    listed = check(run([tool("ansible-doc"), "-t", "module", "-l", FQCN], env=env), "ansible-doc -l")
    assert listed.stderr.strip() == "", listed.stderr
    assert sorted(re.findall(r"^(%s\.\w+)" % re.escape(FQCN), listed.stdout, re.M)) == sorted(modules)

    for role in role_names():
        specs = ROOT / "roles" / role / "meta" / "argument_specs.yml"
        assert specs.is_file(), "role %s has no meta/argument_specs.yml" % role
        entry_points = load_yaml(specs).get("argument_specs") or {}
        assert entry_points, "%s declares no entry point" % specs
        result = check(run([tool("ansible-doc"), "-t", "role", "%s.%s" % (FQCN, role)], env=env),
                       "ansible-doc role %s" % role)
        assert result.stderr.strip() == "", "ansible-doc warned on role %s:\n%s" % (role, result.stderr)
        for entry in entry_points:
            # Without colour, ansible-core 2.19 marks the name as *main*; older releases print it bare.
            shown = re.search(r"ENTRY POINT: \*?%s\*?( |$)" % re.escape(entry), result.stdout, re.M)
            assert shown, "entry point %s of %s not shown" % (entry, role)


# -- antsibull-docs --------------------------------------------------------------------------------


def test_docs_site_builds(laid_out, tmp_path):
    """The antsibull-docs collection site, built with Sphinx like make docs (offline: no intersphinx)."""
    env = only_collections_path(laid_out)
    dest = tmp_path / "site"
    dest.mkdir(mode=0o755)  # antsibull-docs wants a folder only its owner can write to
    check(run([tool("antsibull-docs"), "sphinx-init", "--use-current", "--fail-on-error", "--dest-dir", dest, FQCN],
              env=env), "antsibull-docs sphinx-init")
    with open(dest / "conf.py", "a", encoding="utf-8") as conf:
        conf.write('\nintersphinx_mapping = {}\nsuppress_warnings = ["ref.ref"]\n')
    rst = dest / "rst"
    rst.mkdir(mode=0o755, exist_ok=True)
    rst.chmod(0o755)
    check(run([tool("antsibull-docs"), "--config-file", dest / "antsibull-docs.cfg", "collection", "--cleanup",
               "everything", "--use-current", "--fail-on-error", "--dest-dir", rst, FQCN], cwd=dest, env=env),
          "antsibull-docs collection")
    check(run([tool("sphinx-build"), "-M", "html", rst, dest / "build", "-c", dest, "-W", "--keep-going", "-q"],
              cwd=dest, env=env), "sphinx-build")
    html = dest / "build" / "html" / "collections" / NAMESPACE / NAME
    for name in module_names():
        assert (html / ("%s_module.html" % name)).is_file(), "no page for module %s" % name
    for role in role_names():
        assert (html / ("%s_role.html" % role)).is_file(), "no page for role %s" % role


def test_collection_docs_lint(laid_out):
    """antsibull-docs' linter: markup and references in the plugin docs (O(), RV(), M()...), changelog."""
    result = check(run([tool("antsibull-docs"), "lint-collection-docs", "--plugin-docs", COLL],
                       env=only_collections_path(laid_out)), "antsibull-docs lint-collection-docs")
    assert result.stdout.strip() == "", result.stdout


# -- Galaxy ----------------------------------------------------------------------------------------

# Path parts that must never ship: version control, environments, caches, build and test output.
JUNK_PARTS = {".git", ".venv", ".venvs", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis",
              ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".cache", ".benchmarks", "bench-results", ".ansible",
              ".idea", ".vscode", "node_modules", ".eggs"}
JUNK_SUFFIXES = (".pyc", ".pyo", ".tar.gz", ".whl", ".egg-info", ".orig", ".rej", ".swp", "~", ".log")


def test_galaxy_artifact_holds_only_what_users_need(artifact):
    with tarfile.open(artifact) as tar:
        names = [member.name.rstrip("/") for member in tar.getmembers()]
    junk = [n for n in names if JUNK_PARTS.intersection(n.split("/")) or n.endswith(JUNK_SUFFIXES)
            or n.startswith("tests/output") or re.search(r"(^|/)\.coverage", n)]
    assert not junk, "the artifact holds files users do not need (add them to build_ignore): %s" % junk
    required = ["MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
                "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt",
                "extensions/awx/credential_type.yml", "playbooks/register_awx_credential_type.yml",
                "examples/execution-environment.yml"]
    required += ["plugins/modules/%s.py" % name for name in module_names()]
    required += ["docs/%s" % p.name for p in (ROOT / "docs").glob("*.md")]
    required += ["roles/%s/meta/argument_specs.yml" % role for role in role_names()]
    missing = [n for n in required if n not in names]
    assert not missing, "the artifact lacks %s" % missing
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == (NAMESPACE, NAME)


def test_installed_artifact_works(installed, request, tmp_path):
    """ansible-doc and a playbook use the collection installed from the artifact, and nothing else."""
    env = only_collections_path(installed)
    installed_coll = installed / "ansible_collections" / NAMESPACE / NAME
    for name in module_names():
        result = check(run([tool("ansible-doc"), "-t", "module", "%s.%s" % (FQCN, name)], cwd=tmp_path, env=env),
                       "ansible-doc %s from the artifact" % name)
        assert str(installed_coll) in result.stdout, "ansible-doc did not read the installed copy"
        assert result.stderr.strip() == "", result.stderr

    if "task_status_info" not in module_names():
        pytest.skip("no task_status_info module yet")
    try:
        sim_server = request.getfixturevalue("sim_server")
        from isc_sim import SimControl
        from isc_sim.control import CREDENTIALS
    except (pytest.FixtureLookupError, ImportError) as exc:
        pytest.skip("no simulator (tests/conftest.py sim_server): %s" % exc)
    control = SimControl(sim_server.url)
    control.reset("demo")
    task_id = next(t["id"] for t in control.tasks() if not t.get("_sim", {}).get("expired"))
    playbook = tmp_path / "read.yml"
    playbook.write_text("""---
- name: Read a task of the simulated tenant with the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read one task, connection from the environment
      identitynow.tasks.task_status_info:
        id: "%s"
      register: one
    - name: Check it
      ansible.builtin.assert:
        that:
          - one is not changed
          - one.task_statuses | length == 1
          - one.task_statuses[0].id == "%s"
""" % (task_id, task_id), encoding="utf-8")
    client_id, client_secret = CREDENTIALS["pat"]
    result = run([tool("ansible-playbook"), "-i", "localhost,", playbook], cwd=tmp_path,
                 env=dict(env, SAIL_BASE_URL=sim_server.url, SAIL_CLIENT_ID=client_id,
                          SAIL_CLIENT_SECRET=client_secret))
    check(result, "playbook against the simulator with the installed collection")
    assert "failed=0" in result.stdout


def galaxy_import(artifact, tmp_path):
    """Run galaxy-importer with its default checks (ansible-doc, ansible-lint, changelog); return (rc, output)."""
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text("[galaxy-importer]\nLOG_LEVEL_MAIN = INFO\nRUN_ANSIBLE_TEST = False\n"
                      "ANSIBLE_LOCAL_TMP = %s\n" % (tmp_path / "ansible-tmp"), encoding="utf-8")
    result = run([sys.executable, "-m", "galaxy_importer.main", artifact], cwd=tmp_path,
                 env={"GALAXY_IMPORTER_CONFIG": str(config), "ANSIBLE_COLLECTIONS_PATH": str(tmp_path)})
    return result.returncode, result.stdout + result.stderr


def with_repository(artifact, out, url):
    """A copy of the artifact whose MANIFEST.json names a repository (FILES.json does not cover MANIFEST.json)."""
    copy = out / artifact.name
    with tarfile.open(artifact) as source, tarfile.open(copy, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "MANIFEST.json":
                manifest = json.load(data)
                manifest["collection_info"]["repository"] = url
                raw = json.dumps(manifest, indent=4).encode("utf-8")
                member.size = len(raw)
                data = io.BytesIO(raw)
            target.addfile(member, data)
    return copy


def test_galaxy_importer_passes(artifact, tmp_path):
    """galaxy-importer: no error, no warning. galaxy.yml names no repository while the collection has no public
    home (docs/getting-started.md); Galaxy requires one, so the importer must refuse the artifact for exactly that
    reason, and accept it once a repository is named."""
    if not load_yaml(ROOT / "galaxy.yml").get("repository"):
        returncode, output = galaxy_import(artifact, tmp_path)
        assert returncode != 0 and "'repository' is required" in output, output[-6000:]
        errors = [line for line in output.splitlines() if re.match(r"\s*ERROR\b", line)]
        assert len(errors) == 1 and "'repository' is required" in errors[0], "\n".join(errors)
        artifact = with_repository(artifact, tmp_path, "https://repository.invalid/identitynow/tasks")
    returncode, output = galaxy_import(artifact, tmp_path)
    assert returncode == 0 and "Importer processing completed successfully" in output, output[-6000:]
    problems = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert not problems, "galaxy-importer reported:\n" + "\n".join(problems)
    # The EDA event source of meta/extensions.yml is listed among the contents (docs/eda.md).
    contents = json.loads((tmp_path / "importer_result.json").read_text(encoding="utf-8"))["contents"]
    assert ("eda/plugins/event_source", "task_status") in [(c["content_type"], c["name"]) for c in contents]


# -- Supported versions ----------------------------------------------------------------------------


def core_versions_under_test():
    """ansible-core versions sanity runs on: the pin of requirements-demo.txt, which requirements-test.txt includes
    (make sanity), and SANITY_CORES (make sanity-matrix)."""
    files = ("requirements-demo.txt", "requirements-test.txt")
    texts = [(ROOT / name).read_text(encoding="utf-8") for name in files]
    assert re.search(r"^-r requirements-demo\.txt\s*$", texts[1], re.M), "requirements-test.txt must include requirements-demo.txt"
    pins = [pin for text in texts for pin in re.findall(r"^ansible-core==([0-9.]+)\s*$", text, re.M)]
    assert len(pins) == 1, "%s must pin ansible-core exactly once between them" % " and ".join(files)
    matrix = re.search(r"^SANITY_CORES\s*\??=\s*(.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert matrix, "Makefile has no SANITY_CORES"
    return pins + matrix.group(1).split()


def test_requires_ansible_matches_tested_versions():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    versions = sorted({Version(v) for v in core_versions_under_test()})
    requires = load_yaml(ROOT / "meta" / "runtime.yml")["requires_ansible"]
    specifier = SpecifierSet(requires)
    lower = [s for s in specifier if s.operator == ">="]
    assert len(lower) == 1, "requires_ansible %r needs one >= lower bound" % requires
    lowest = versions[0]
    assert Version(lower[0].version) == Version("%d.%d.0" % (lowest.major, lowest.minor)), \
        "requires_ansible %s, but the oldest ansible-core tested is %s" % (requires, lowest)
    assert all(v in specifier for v in versions), "a tested version is outside requires_ansible %s" % requires
    minors = sorted({(v.major, v.minor) for v in versions})
    assert len(minors) == len(versions), "test one patch release per minor version: %s" % versions


# -- Changelog -------------------------------------------------------------------------------------


def test_changelog_fragments_lint_and_release_is_generated():
    result = check(run([tool("antsibull-changelog"), "lint"]), "antsibull-changelog lint")
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr
    check(run([tool("antsibull-changelog"), "lint-changelog-yaml", "changelogs/changelog.yaml"]),
          "antsibull-changelog lint-changelog-yaml")
    version = str(load_yaml(ROOT / "galaxy.yml")["version"])
    releases = load_yaml(ROOT / "changelogs" / "changelog.yaml")["releases"]
    assert version in releases, "changelogs/changelog.yaml has no release %s (make changelog-release)" % version
    assert "v%s\n" % version in (ROOT / "CHANGELOG.rst").read_text(encoding="utf-8")
    # Fragments are kept while the release is assembled (keep_fragments): each must be in the generated changelog.
    fragments = sorted(path.name for path in (ROOT / "changelogs" / "fragments").glob("*.y*ml"))
    released = set().union(*(release.get("fragments", []) for release in releases.values()))
    unreleased = [name for name in fragments if name not in released]
    assert not unreleased, "fragments not in CHANGELOG.rst yet (make changelog-release): %s" % ", ".join(unreleased)
