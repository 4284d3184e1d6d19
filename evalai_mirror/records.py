"""Records: the part of :mod:`dataclasses` this package uses, cheap to import and to apply.

A git hook's push has a start-up budget (README: at most 100 ms over ``python -c pass`` plus
EvalAI's answer time).  The stdlib's :mod:`dataclasses` imports :mod:`inspect` (and with it
``ast``, ``dis``, ``tokenize``...), ~15-20 ms per process, and decorating a class costs it
~0.5 ms (an ``exec`` per generated method and a signature for the docstring); the hook's path
creates some 25 of them.  A record costs ~20-40 us.  ``@record`` follows :mod:`dataclasses`
and keeps its semantics for what is supported here:

- ``@record`` and ``@record(frozen=True)`` (``eq`` is always on, as dataclasses' default);
- ``field(default=..., default_factory=..., init=..., repr=..., compare=...)``;
- a generated ``__init__`` (positional or keyword arguments, defaults, default factories
  called once per instance, ``init=False`` fields, ``__post_init__`` when the class has one),
  ``__repr__`` (``Name(a=1, b='x')``, fields with ``repr=False`` left out), ``__eq__`` over
  the compared fields for instances of the same class (``NotImplemented`` otherwise),
  ``__hash__`` of the compared fields for a frozen record and ``None`` for a mutable one, and
  for a frozen record ``__setattr__``/``__delattr__`` that raise :class:`FrozenInstanceError`;
  a method the class body defines itself is kept, as dataclasses does;
- a record may subclass a record (the bases' fields first; frozen and mutable do not mix);
- :func:`fields` and :func:`asdict` (deep: records inside lists, tuples and dicts become
  dicts, other values are deep-copied).

Not supported: ``order``, ``unsafe_hash``, ``kw_only``, ``slots``, ``InitVar``, ``replace``,
``match_args`` and the generated ``__doc__`` (dataclasses builds it with :mod:`inspect`).
``ClassVar`` annotations are left out of the fields, as dataclasses does.  One difference:
``__init__`` puts the values straight into the instance's ``__dict__``, so a ``__setattr__``
the class defines, or a property named like a field, is not called (none here has one).

For type checkers ``record`` is a ``dataclass_transform``, so mypy checks constructor calls,
fields and frozen-ness exactly as for a dataclass.  At run time this module imports only
``sys`` and ``_thread`` (and ``copy`` when :func:`asdict` meets a value that is not plain data).
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False
if not TYPE_CHECKING:  # run time: the typing helpers below are no-ops (no typing import)
    def dataclass_transform(**_: object) -> object:
        return lambda function: function

    def overload(function: object) -> object:
        return function
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    T = TypeVar("T")
    C = TypeVar("C", bound=type)


__all__ = ["Field", "FrozenInstanceError", "asdict", "field", "fields", "record"]

FIELDS = "__record_fields__"  # the class attribute that holds a record's fields, by name


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen record (as dataclasses' own)."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _FactoryMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _FactoryMarker()


class Field:
    """One field of a record: its name and how ``__init__``, ``__repr__`` and ``__eq__``
    treat it (what :func:`field` declared)."""

    __slots__ = ("compare", "default", "default_factory", "init", "name", "repr")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool,
                 compare: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r}, init={self.init!r}, "
                f"repr={self.repr!r}, compare={self.compare!r})")


@overload
def field(*, default: T, init: bool = True, repr: bool = True, compare: bool = True) -> T:
    ...


@overload
def field(*, default_factory: Callable[[], T], init: bool = True, repr: bool = True,
          compare: bool = True) -> T:
    ...


@overload
def field(*, init: bool = True, repr: bool = True, compare: bool = True) -> Any:
    ...


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
          repr: bool = True, compare: bool = True) -> Any:
    """Declare a field with more than a default value, as :func:`dataclasses.field`."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, compare)


def fields(class_or_instance: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__``'s order."""
    try:
        found: dict[str, Field] = getattr(class_or_instance, FIELDS)
    except AttributeError:
        raise TypeError("fields() takes a record class or instance") from None
    return tuple(found.values())


def asdict(obj: Any) -> dict[str, Any]:
    """A record as a dict of its fields, deeply, as :func:`dataclasses.asdict`."""
    if not hasattr(type(obj), FIELDS):
        raise TypeError("asdict() takes a record instance")
    result: dict[str, Any] = _deep(obj)
    return result


_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})


def _deep(obj: Any) -> Any:
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if hasattr(kind, FIELDS):
        return {name: _deep(getattr(obj, name)) for name in getattr(kind, FIELDS)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return kind(*[_deep(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return kind(_deep(v) for v in obj)
    if isinstance(obj, dict):
        return kind((_deep(k), _deep(v)) for k, v in obj.items())
    import copy  # only for values that are not plain data (none of this package's records)

    return copy.deepcopy(obj)


@overload
@dataclass_transform(field_specifiers=(field,))
def record(cls: C, /) -> C:
    ...


@overload
def record(*, frozen: bool = False) -> Callable[[C], C]:
    ...


def record(cls: Any = None, /, *, frozen: bool = False) -> Any:
    """Make ``cls`` a record from its annotated class attributes, as ``@dataclass`` does."""
    if cls is None:
        return lambda cls: _make(cls, frozen)
    return _make(cls, frozen)


# ---------------------------------------------------------------------------- making a class


def _is_class_var(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    return getattr(annotation, "__origin__", annotation) is getattr(
        sys.modules.get("typing"), "ClassVar", MISSING
    )


def _own_fields(cls: type) -> list[Field]:
    found = []
    # a class's own annotations (Python 3.10 and later do not inherit them here)
    for name, annotation in cls.__annotations__.items():
        if _is_class_var(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(value, MISSING, True, True, True)
        spec.name = name
        if spec.default is not MISSING and type(spec.default).__hash__ is None:
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not "
                             "allowed: use default_factory")
        if isinstance(value, Field):
            if spec.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        found.append(spec)
    return found


def _make(cls: Any, frozen: bool) -> Any:
    every: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get(FIELDS)
        if inherited is not None:
            if base.__dict__["__record_frozen__"] != frozen:
                raise TypeError(f"{cls.__name__}: a frozen record cannot inherit from a "
                                "mutable one, nor a mutable record from a frozen one")
            every.update(inherited)
    for spec in _own_fields(cls):
        every[spec.name] = spec
    setattr(cls, FIELDS, every)
    cls.__record_frozen__ = frozen
    specs = list(every.values())
    own = cls.__dict__

    if "__init__" not in own:
        _set(cls, "__init__", _init(cls, specs))
    if "__repr__" not in own:
        _set(cls, "__repr__", _repr_of(tuple(s.name for s in specs if s.repr)))
    compared = tuple(s.name for s in specs if s.compare)
    if "__eq__" not in own:
        _set(cls, "__eq__", _eq_of(compared))
    explicit_hash = own.get("__hash__", MISSING) is not MISSING and not (
        own["__hash__"] is None and "__eq__" in own
    )
    if not explicit_hash:
        cls.__hash__ = _hash_of(compared) if frozen else None
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
        names = frozenset(every)
        cls.__setattr__ = _frozen_setattr(cls, names)
        cls.__delattr__ = _frozen_delattr(cls, names)
    return cls


def _set(cls: type, name: str, function: Any) -> None:
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, function)


def _init(cls: type, specs: list[Field]) -> Any:
    """``__init__`` with the fields as its parameters, so Python itself binds positional and
    keyword arguments and words a wrong call (``Name.__init__() missing 1 required positional
    argument: 'x'``).  It is the code of ``_init<count>`` below given the class's parameter
    names (the bytecode refers to parameters by position, not name): compiling source per
    class, as dataclasses does, costs ~5 us a field."""
    params = [spec for spec in specs if spec.init]
    names = tuple(spec.name for spec in params)
    defaults = []
    for spec in params:
        if spec.default_factory is not MISSING:
            defaults.append(_HAS_FACTORY)
        elif spec.default is not MISSING:
            defaults.append(spec.default)
        elif defaults:
            raise TypeError(f"{cls.__name__}: field {spec.name!r} without a default follows "
                            "a field with a default")
    factories = tuple((spec.name, spec.default_factory) for spec in params
                      if spec.default_factory is not MISSING)
    hidden = tuple((spec.name, spec.default, spec.default_factory) for spec in specs
                   if not spec.init and (spec.default is not MISSING
                                         or spec.default_factory is not MISSING))
    varnames = ("__record_self__" if "self" in names else "self", *names)
    code = _template(len(names))
    names_of_code = {"co_qualname": f"{cls.__qualname__}.__init__"} if _QUALNAMES else {}
    code = code.replace(co_varnames=varnames, co_name="__init__", **names_of_code)
    fill = _filler(names, factories, hidden, hasattr(cls, "__post_init__"))
    return _FUNCTION(code, {"_record_fill_": fill}, "__init__", tuple(defaults) or None)


_FUNCTION: Any = type(lambda: None)  # types.FunctionType, without importing types
_QUALNAMES = sys.version_info >= (3, 11)  # code objects have a co_qualname (for tracebacks)


def _template(count: int) -> Any:
    """The code of an ``__init__`` of ``count`` parameters that passes the instance and their
    values to ``_record_fill_``."""
    code = _TEMPLATES.get(count)
    if code is None:  # more fields than any record here has: compile it
        params = "".join(f", p{i}" for i in range(count))
        values = "".join(f"p{i}, " for i in range(count))
        namespace: dict[str, Any] = {}
        exec(f"def __init__(self{params}):\n    _record_fill_(self, ({values}))\n", namespace)
        code = _TEMPLATES[count] = namespace["__init__"].__code__
    return code


def _filler(names: tuple[str, ...], factories: tuple[tuple[str, Any], ...],
            hidden: tuple[tuple[str, Any, Any], ...], post_init: bool) -> Any:
    """What ``__init__`` does with its arguments: each field's value into the instance's
    ``__dict__`` (as ``object.__setattr__`` does for a plain attribute; a frozen record's own
    ``__setattr__`` is not called), a default factory called for each argument not given, the
    ``init=False`` fields' defaults, then ``__post_init__``."""
    if not (factories or hidden or post_init):
        def fill_plain(self: Any, values: tuple[Any, ...]) -> None:
            self.__dict__.update(zip(names, values, strict=True))

        return fill_plain

    def fill(self: Any, values: tuple[Any, ...]) -> None:
        attributes = self.__dict__
        attributes.update(zip(names, values, strict=True))
        for name, factory in factories:
            if attributes[name] is _HAS_FACTORY:
                attributes[name] = factory()
        for name, default, factory in hidden:
            attributes[name] = default if factory is MISSING else factory()
        if post_init:
            self.__post_init__()

    return fill


# The code of ``__init__`` for each parameter count up to 16 (this package's records have up to
# 13), written out so that it is compiled once, into this module's .pyc, and not in every
# process: compiling the 13 counts cost ~1 ms a process.  Each is only a source of code;
# ``_init`` runs it with the parameter names and ``_record_fill_`` of one class.
_record_fill_: Any = None


def _init0(self: Any) -> None:
    _record_fill_(self, ())


def _init1(self: Any, p0: Any) -> None:
    _record_fill_(self, (p0,))


def _init2(self: Any, p0: Any, p1: Any) -> None:
    _record_fill_(self, (p0, p1))


def _init3(self: Any, p0: Any, p1: Any, p2: Any) -> None:
    _record_fill_(self, (p0, p1, p2))


def _init4(self: Any, p0: Any, p1: Any, p2: Any, p3: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3))


def _init5(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4))


def _init6(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5))


def _init7(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6))


def _init8(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any,
           p7: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7))


def _init9(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
           p8: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8))


def _init10(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9))


def _init11(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10))


def _init12(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any, p11: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11))


def _init13(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any, p11: Any, p12: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12))


def _init14(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any, p11: Any, p12: Any, p13: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13))


def _init15(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any, p11: Any, p12: Any, p13: Any, p14: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14))


def _init16(self: Any, p0: Any, p1: Any, p2: Any, p3: Any, p4: Any, p5: Any, p6: Any, p7: Any,
            p8: Any, p9: Any, p10: Any, p11: Any, p12: Any, p13: Any, p14: Any, p15: Any) -> None:
    _record_fill_(self, (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15))


_TEMPLATES: dict[int, Any] = {
    n: function.__code__ for n, function in enumerate((
        _init0, _init1, _init2, _init3, _init4, _init5, _init6, _init7, _init8, _init9, _init10,
        _init11, _init12, _init13, _init14, _init15, _init16,
    ))
}


def _repr_of(names: tuple[str, ...]) -> Any:
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = (id(self), _thread.get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__


def _eq_of(names: tuple[str, ...]) -> Any:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (tuple([getattr(self, name) for name in names])
                == tuple([getattr(other, name) for name in names]))

    return __eq__


def _hash_of(names: tuple[str, ...]) -> Any:
    def __hash__(self: Any) -> int:
        return hash(tuple([getattr(self, name) for name in names]))

    return __hash__


def _frozen_setattr(cls: type[Any], names: frozenset[str]) -> Any:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: type[Any], names: frozenset[str]) -> Any:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
