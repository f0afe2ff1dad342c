# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``/__sim__/`` control interface: JSON in and out, no authentication, never logged, limited or faulted."""

from __future__ import annotations

import json

from .api import json_response
from .store import RETENTION_MS, InvalidRequest
from .timeutil import format_ms


def _body_object(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        payload = json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise InvalidRequest("request body is not valid JSON: %s" % exc) from None
    if not isinstance(payload, dict):
        raise InvalidRequest("request body must be a JSON object")
    return payload


def _tasks_as_now(store, tasks, with_meta: bool) -> list:
    with store.lock:
        now, race = store.now(), store.race_ms
        records = []
        for task in tasks:
            record = json.loads(task.json(now, race, store.generation))
            if with_meta:
                record["_sim"] = {"expired": task.created < now - RETENTION_MS, "outcome": task.outcome,
                                  "frozen": task.frozen is not None}
            records.append(record)
        return records


def _reset(store, payload):
    store.reset(payload.get("scenario", "empty"), payload.get("tasks"), payload.get("settings"))
    return {"scenario": store.scenario, "tasks": len(store.tasks), "settings": dict(store.settings),
            "now": format_ms(store.now())}


def _settings(store, payload):
    return store.update_settings(payload) if payload else dict(store.settings)


def _add_tasks(store, payload):
    if set(payload) != {"tasks"}:
        raise InvalidRequest('body must be {"tasks": [spec, ...]}')
    return {"tasks": _tasks_as_now(store, store.add_tasks(payload["tasks"]), False)}


def _list_tasks(store, _payload):
    return {"tasks": _tasks_as_now(store, list(store.ordered), True)}


def _list_sources(store, _payload):
    with store.lock:
        return {"sources": [source.json() for source in store.sources.values()]}


def _add_sources(store, payload):
    if set(payload) != {"sources"}:
        raise InvalidRequest('body must be {"sources": [spec, ...]}')
    return {"sources": [source.json() for source in store.add_sources(payload["sources"])]}


def _advance(store, payload):
    return {"now": format_ms(store.advance(payload.get("advance", 0)))}


def _now(store, _payload):
    return {"now": format_ms(store.now())}


def _add_fault(store, payload):
    rule = store.add_fault(payload)
    rule.pop("skipped", None)
    return {"added": rule, "faults": _faults(store, None)["faults"]}


def _faults(store, _payload):
    with store.lock:
        return {"faults": [dict(rule) for rule in store.faults]}


def _clear_faults(store, _payload):
    with store.lock:
        store.faults.clear()
    return {"faults": []}


def _log(store, _payload):
    with store.lock:
        return {"requests": list(store.log)}


def _clear_log(store, _payload):
    with store.lock:
        store.log.clear()
    return {"requests": []}


def _health(store, _payload):
    return {"ok": True, "scenario": store.scenario, "tasks": len(store.tasks), "now": format_ms(store.now())}


ENDPOINTS = {
    "reset": {"POST": _reset},
    "settings": {"GET": _settings, "POST": _settings},
    "tasks": {"GET": _list_tasks, "POST": _add_tasks},
    "sources": {"GET": _list_sources, "POST": _add_sources},
    "clock": {"GET": _now, "POST": _advance},
    "faults": {"GET": _faults, "POST": _add_fault, "DELETE": _clear_faults},
    "log": {"GET": _log, "DELETE": _clear_log},
    "health": {"GET": _health},
}


def handle(store, method: str, raw_path: str, body: bytes):
    """Answer one control request with a Response."""
    methods = ENDPOINTS.get(raw_path[len("/__sim__/"):])
    if methods is None:
        return json_response(404, {"error": "unknown control endpoint %s; known: %s"
                                   % (raw_path, ", ".join("/__sim__/" + name for name in ENDPOINTS))})
    if method not in methods:
        return json_response(405, {"error": "%s is not allowed on %s" % (method, raw_path)},
                             [("Allow", ", ".join(methods))])
    try:
        payload = _body_object(body) if method == "POST" else {}
        return json_response(200, methods[method](store, payload))
    except InvalidRequest as exc:
        return json_response(400, {"error": str(exc)})
