"""Scopes and what their names are bound to: the markers a name may hold, the binding entries, and
the rules of rebinding (assigning None never unbinds a name; an annotation stays with its name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import libcst as cst

# Markers standing for what a name holds when it is not a qualified name.
CLIENT = "<client>"
RUN = "<run>"
OTHER = "<other>"
NONE = "<none>"
CLIENT_GUESS = "<client?>"  # an unannotated parameter named like a client, in a module using MLflow

# A string (a qualified name or a marker), or (kind, payload, scope the payload is read in): kinds are
# "expr" (an assigned expression), "param" (its annotation, or its name as a str), "annotated"
# ((annotation, value or None, scope the value is read in): the annotation is read in the entry's
# scope), "class" (the class's own Scope) and "property" (the method's name: ``self.<name>`` is
# what it returns).
Entry = Union[str, tuple[str, object, "Scope"]]


def is_none(node: cst.BaseExpression | None) -> bool:
    """The literal ``None``."""
    return isinstance(node, cst.Name) and node.value == "None"


def holds_none(entry: Entry) -> bool:
    """An assignment of ``None``, annotated or not, or an annotation without a value."""
    if entry == NONE:
        return True
    return (isinstance(entry, tuple) and entry[0] == "annotated" and isinstance(entry[1], tuple)
            and (entry[1][1] is None or is_none(entry[1][1])))


def rebind(current: Entry | None, entry: Entry) -> Entry | None:
    """What a name holds once ``entry`` is bound over ``current``; None when ``current`` stays.

    Assigning None never unbinds a name, and an annotation stays with the name it annotates: in
    ``CLIENT: Optional[MlflowClient] = None`` then ``CLIENT = connect()``, CLIENT is still a client.
    """
    if current is not None and current != NONE and holds_none(entry):
        return None
    if (isinstance(current, tuple) and current[0] == "annotated" and isinstance(current[1], tuple)
            and isinstance(entry, tuple) and entry[0] == "expr"):
        return "annotated", (current[1][0], entry[1], entry[2]), current[2]
    return entry


@dataclass
class Scope:
    """Names bound in one module, class or function body.

    ``declared``: the names a ``global`` or ``nonlocal`` statement of this body hands to the scope
    that owns them (their bindings land there). ``attrs``: in a class, what its methods assign to
    ``self.<name>`` or ``cls.<name>``.
    """

    kind: str  # module | class | function
    parent: Scope | None
    names: dict[str, Entry] = field(default_factory=dict)
    star_mlflow: bool = False
    declared: dict[str, Scope] = field(default_factory=dict)
    attrs: dict[str, Entry] = field(default_factory=dict)

    def bind(self, name: str, entry: Entry) -> None:
        owner = self.declared.get(name)
        if owner is not None:
            owner.bind(name, entry)
        elif (bound := rebind(self.names.get(name), entry)) is not None:
            self.names[name] = bound
