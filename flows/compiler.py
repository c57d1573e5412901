"""Compile a flow document into an immutable plan, or list every problem in it."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from flows.catalogue import Catalogue, ConfigCheck, NodeKind, NodeProgram
from flows.document import DocumentError, Edge, FlowDocument, decode_document, explain
from flows.outcomes import TriggerSpec
from flows.problems import FlowProblems, Problem
from flows.timecalc import TimeError, zone


@dataclass(frozen=True, slots=True)
class CompiledNode:
    id: str
    kind: NodeKind[Any]
    config: Any
    program: NodeProgram
    ports: tuple[str, ...]
    next: Mapping[str, str]  # port -> target node id; a port without an edge ends the run


@dataclass(frozen=True, slots=True)
class Plan:
    document: FlowDocument
    nodes: Mapping[str, CompiledNode]
    triggers: tuple[str, ...]
    timezone: ZoneInfo
    content_hash: str
    _event_triggers: Mapping[str, tuple[str, ...]]

    @property
    def entry(self) -> str:
        return self.document.settings.entry

    def trigger_spec(self, node_id: str) -> TriggerSpec:
        spec = self.nodes[node_id].program.trigger
        assert spec is not None
        return spec

    def triggers_on(self, event_name: str) -> tuple[str, ...]:
        """Trigger nodes entered by an event of this name (before their `where` filter)."""
        return self._event_triggers.get(event_name, ())

    def awaited_events(self) -> frozenset[str]:
        return frozenset(self._event_triggers)


MEMBERSHIP_TRIGGERS = ("segment_entered", "segment_exited")


def membership_event(on: str, segment: str) -> str:
    """The event a segment entry or exit becomes: `segment_entered:vip`, `segment_exited:vip`."""
    return f"{on}:{segment}"


def compile_flow(source: FlowDocument | bytes | str, catalogue: Catalogue) -> Plan:
    """Compile a document (or its JSON text). Raises `FlowProblems` listing every problem."""
    if isinstance(source, FlowDocument):
        document = source
    else:
        try:
            document = decode_document(source)
        except DocumentError as exc:
            raise FlowProblems(exc.problems) from None
    return _Compiler(document, catalogue).run()


def content_hash(document: FlowDocument) -> str:
    """Hash of what the flow does; positions and labels only move boxes on the canvas."""
    behaviour = {
        "settings": document.settings,
        "nodes": sorted(((n.id, n.type, n.config) for n in document.nodes), key=lambda n: n[0]),
        "edges": sorted((e.from_, e.port or "", e.to) for e in document.edges),
    }
    encoded = msgspec.json.encode(behaviour, order="sorted")
    return hashlib.sha256(encoded).hexdigest()


class _Compiler:
    def __init__(self, document: FlowDocument, catalogue: Catalogue) -> None:
        self.document = document
        self.catalogue = catalogue
        self.problems: list[Problem] = []

    def node_problem(self, node_id: str, message: str) -> None:
        self.problems.append(Problem(message, node=node_id))

    def edge_problem(self, edge: Edge, message: str) -> None:
        self.problems.append(Problem(message, edge=edge.describe()))

    def run(self) -> Plan:
        timezone = self._timezone()
        built = self._build_nodes()
        routes = self._route_edges(built)
        trigger_ids = [nid for nid, (kind, _, _, _) in built.items() if kind.is_trigger]
        if self.document.nodes and not trigger_ids:
            self.problems.append(Problem(
                "The flow has no trigger: add a Trigger node to say how contacts enter it."
            ))
        if not self.document.nodes:
            self.problems.append(Problem("The flow has no nodes: add a Trigger to start."))
        self._check_graph(trigger_ids)
        if self.problems or timezone is None:
            raise FlowProblems(self.problems)
        nodes: dict[str, CompiledNode] = {}
        for node_id, (kind, config, program, ports) in built.items():
            assert program is not None and ports is not None
            nodes[node_id] = CompiledNode(
                node_id, kind, config, program, ports, MappingProxyType(routes.get(node_id, {}))
            )
        event_triggers: dict[str, list[str]] = {}
        for node_id in trigger_ids:
            spec = nodes[node_id].program.trigger
            if spec is not None and spec.on == "event" and spec.event is not None:
                event_triggers.setdefault(spec.event, []).append(node_id)
            elif spec is not None and spec.on in MEMBERSHIP_TRIGGERS and spec.segment:
                # The shells turn a segment entry or exit into an event of this name.
                name = membership_event(spec.on, spec.segment)
                event_triggers.setdefault(name, []).append(node_id)
        return Plan(
            document=self.document,
            nodes=MappingProxyType(nodes),
            triggers=tuple(trigger_ids),
            timezone=timezone,
            content_hash=content_hash(self.document),
            _event_triggers=MappingProxyType({k: tuple(v) for k, v in event_triggers.items()}),
        )

    def _timezone(self) -> ZoneInfo | None:
        name = self.document.settings.timezone
        try:
            return zone(name)
        except TimeError as exc:
            self.problems.append(Problem(f"settings.timezone: {exc}"))
            return None

    def _build_nodes(
        self,
    ) -> dict[str, tuple[NodeKind[Any], Any, NodeProgram | None, tuple[str, ...] | None]]:
        built: dict[str, tuple[NodeKind[Any], Any, NodeProgram | None, tuple[str, ...] | None]] = {}
        for node in self.document.nodes:
            if not node.id.strip():
                self.problems.append(Problem("A node has an empty id: give every node an id."))
                continue
            if node.id in built:
                self.node_problem(node.id, "two nodes share this id: node ids must be unique.")
                continue
            kind = self.catalogue.get(node.type)
            if kind is None:
                self.node_problem(node.id, self._unknown_type(node.type))
                continue
            config: Any
            try:
                config = msgspec.convert(node.config, kind.config)
            except msgspec.ValidationError as exc:
                message = explain(exc) + _allowed_values(kind, exc)
                self.node_problem(node.id, f"settings of this {kind.label}: {message}")
                built[node.id] = (kind, None, None, None)
                continue
            check = ConfigCheck()
            program = kind.build(config, check)
            for message in check.problems:
                self.node_problem(node.id, message)
            ports = kind.ports(config)
            built[node.id] = (kind, config, None if check.problems else program, ports)
        return built

    def _unknown_type(self, type_name: str) -> str:
        known = self.catalogue.types()
        close = difflib.get_close_matches(type_name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown node type {type_name!r}.{hint} Known types: {', '.join(known)}."

    def _route_edges(self, built: Mapping[str, tuple[Any, ...]]) -> dict[str, dict[str, str]]:
        routes: dict[str, dict[str, str]] = {}
        declared = {node.id for node in self.document.nodes}
        for edge in self.document.edges:
            source = built.get(edge.from_)
            if edge.from_ not in declared:
                self.edge_problem(edge, f"it starts at {edge.from_!r}, which is not a node.")
            if edge.to not in declared:
                self.edge_problem(edge, f"it leads to {edge.to!r}, which is not a node.")
            elif edge.to in built and built[edge.to][0].is_trigger:
                self.edge_problem(edge, "it leads into a trigger: triggers only start a flow.")
            if source is None:
                continue
            kind, _, _, ports = source
            if ports is None:
                continue  # the node's config is broken; its ports are unknown
            port = self._edge_port(edge, kind, ports)
            if port is None:
                continue
            taken = routes.setdefault(edge.from_, {})
            if port in taken:
                self.edge_problem(
                    edge,
                    f"port {port!r} of {edge.from_!r} already leads to {taken[port]!r}; "
                    "a port leads to one node only.",
                )
                continue
            if edge.to in declared:
                taken[port] = edge.to
        return routes

    def _edge_port(self, edge: Edge, kind: NodeKind[Any], ports: tuple[str, ...]) -> str | None:
        if edge.port is None:
            if len(ports) == 1:
                return ports[0]
            if not ports:
                self.edge_problem(edge, self._no_outputs(edge, kind))
            else:
                self.edge_problem(
                    edge, f"say which port it leaves from: one of {', '.join(ports)}."
                )
            return None
        if edge.port not in ports:
            if not ports:
                self.edge_problem(edge, self._no_outputs(edge, kind))
            else:
                self.edge_problem(
                    edge,
                    f"{edge.from_!r} has no port {edge.port!r}; its ports are: {', '.join(ports)}.",
                )
            return None
        return edge.port

    @staticmethod
    def _no_outputs(edge: Edge, kind: NodeKind[Any]) -> str:
        return f"{edge.from_!r} ({kind.label}) has no outputs: remove this edge."

    def _check_graph(self, triggers: list[str]) -> None:
        # Every edge between existing nodes counts here, even one with a bad port or from a
        # node with broken settings: those have their own problems, and the nodes after them
        # are still connected.
        ids = [node.id for node in self.document.nodes]
        declared = set(ids)
        linked: dict[str, set[str]] = {nid: set() for nid in ids}
        for edge in self.document.edges:
            if edge.from_ in declared and edge.to in declared:
                linked[edge.from_].add(edge.to)
        successors = {nid: sorted(targets) for nid, targets in linked.items()}
        for cycle in _cycles(successors):
            self.problems.append(Problem(
                f"These nodes form a loop: {cycle}. "
                "Flows cannot loop back; remove one of its edges.",
                node=min(cycle.split(" -> ")[0].split(", ")),
            ))
        if not triggers:
            return
        reached: set[str] = set()
        stack = list(triggers)
        while stack:
            nid = stack.pop()
            if nid in reached:
                continue
            reached.add(nid)
            stack.extend(successors.get(nid, ()))
        seen: set[str] = set()
        for nid in ids:
            if nid not in reached and nid not in seen:
                seen.add(nid)
                self.node_problem(
                    nid, "no trigger leads here: connect it, or delete it if it is not needed."
                )


def _cycles(successors: Mapping[str, list[str]]) -> list[str]:
    """Each group of nodes that loop back to one another (Tarjan's strongly connected
    components, iterative), described readably: "a -> b -> a" when one loop passes through
    all of them, else the list of their ids."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[str] = []
    counter = 0
    for root in successors:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = successors.get(node, [])
            if child_pos < len(children):
                work.append((node, child_pos + 1))
                child = children[child_pos]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors.get(node, []):
                    found.append(_describe_loop(component, successors))
    return found


def _describe_loop(component: list[str], successors: Mapping[str, list[str]]) -> str:
    members = set(component)
    order = _loop_through_all(min(component), members, successors)
    if order is not None:
        return " -> ".join([*order, order[0]])
    return ", ".join(sorted(members))


def _loop_through_all(
    start: str, members: set[str], successors: Mapping[str, list[str]]
) -> list[str] | None:
    """A loop from `start` through every member, if one exists (searched in small groups only:
    a readable path matters for the few nodes a person can take in)."""
    if len(members) > 8:
        return None
    path = [start]

    def extend() -> bool:
        if len(path) == len(members):
            return start in successors.get(path[-1], [])
        for nxt in successors.get(path[-1], []):
            if nxt in members and nxt not in path:
                path.append(nxt)
                if extend():
                    return True
                path.pop()
        return False

    return path if extend() else None


def _allowed_values(kind: NodeKind[Any], exc: msgspec.ValidationError) -> str:
    """For a value outside a fixed list (a channel, a weekday), the values that are allowed."""
    text = str(exc)
    if not text.startswith("Invalid enum value"):
        return ""
    location = text.partition(" - at ")[2].strip("`").removeprefix("$")
    schema = kind.json_schema()
    node: Any = schema
    for segment in re.findall(r"\.(\w+)|\[\d+\]", location):
        node = _object_or_array(schema, node, "properties" if segment else "items")
        node = node.get("properties", {}).get(segment) if segment else node.get("items")
        if node is None:
            return ""
    options = _enum(schema, node)
    return f" Choose one of: {', '.join(options)}." if options else ""


def _object_or_array(schema: dict[str, Any], node: Any, key: str) -> dict[str, Any]:
    """The schema alternative that has `key` (optional fields are "X or null")."""
    node = _resolve(schema, node)
    if isinstance(node, dict) and key in node:
        return node
    for option in node.get("anyOf", []) if isinstance(node, dict) else []:
        option = _resolve(schema, option)
        if isinstance(option, dict) and key in option:
            return option
    return {}


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _enum(schema: dict[str, Any], node: Any) -> list[str]:
    node = _resolve(schema, node)
    if not isinstance(node, dict):
        return []
    values = [str(v) for v in node.get("enum", [])]
    for option in node.get("anyOf", []):
        values += [v for v in _enum(schema, option) if v not in values]
    if "items" in node and not values:
        values = _enum(schema, node["items"])
    return values
