"""``@record``: the dataclasses subset the package's records are built with.  Each test builds
records and checks what they do; the parity tests build the same class with the stdlib's
``@dataclass`` and compare what both give."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from evalai_mirror.records import FrozenInstanceError, asdict, field, fields, record


@record
class Report:
    action: str
    pk: int | None
    files: list[str] = field(default_factory=list)
    reason: str = ""
    held: dict[str, str] = field(default_factory=dict)


@record(frozen=True)
class Point:
    x: int
    y: int = 0


@record
class Stats:
    requests: int = 0
    secret: str = field(default="hidden", repr=False, compare=False)


@record
class Pattern:
    regex: str
    count: int = 1
    compiled: list[str] = field(init=False, repr=False)
    hits: int = field(init=False, default=0)
    seen: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be 1 or more, not {self.count}")
        self.compiled = [self.regex]


# --------------------------------------------------------------------------- __init__


def test_positional_and_keyword_arguments_and_defaults() -> None:
    report = Report("patched", 7, ["a"], reason="why")
    assert (report.action, report.pk, report.files, report.reason) == ("patched", 7, ["a"], "why")
    assert report.held == {}
    by_keyword = Report(pk=None, action="nothing")
    assert by_keyword.files == [] and by_keyword.reason == "" and by_keyword.pk is None


def test_a_default_factory_gives_each_instance_its_own_object() -> None:
    first, second = Report("zip", 1), Report("zip", 1)
    first.files.append("x")
    first.held["k"] = "v"
    assert second.files == [] and second.held == {}
    assert first.files is not second.files


def test_a_given_value_is_kept_not_replaced_by_the_factory() -> None:
    files = ["mine"]
    assert Report("zip", 1, files).files is files


def test_init_false_fields_are_no_parameters_and_post_init_runs_last() -> None:
    pattern = Pattern("a+", 2)
    assert pattern.compiled == ["a+"] and pattern.hits == 0 and pattern.seen == []
    assert Pattern("b").seen is not pattern.seen
    with pytest.raises(TypeError, match="unexpected keyword argument 'hits'"):
        Pattern("a", hits=3)  # type: ignore[call-arg]


def test_post_init_may_refuse_the_values() -> None:
    with pytest.raises(ValueError, match="count must be 1 or more, not 0"):
        Pattern("a", 0)


def test_an_init_false_field_without_default_is_unset_until_something_sets_it() -> None:
    @record
    class Later:
        name: str
        size: int = field(init=False)

    later = Later("x")
    assert not hasattr(later, "size")
    later.size = 3
    assert later.size == 3


def test_a_wrong_call_raises_pythons_own_type_error_naming_the_class() -> None:
    with pytest.raises(TypeError, match=r"Report.__init__\(\) missing 1 required positional "
                                        r"argument: 'pk'"):
        Report("zip")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Report.__init__\(\) got an unexpected keyword "
                                        r"argument 'colour'"):
        Report("zip", 1, colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Point.__init__\(\) takes from 2 to 3 positional "
                                        r"arguments but 4 were given"):
        Point(1, 2, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]


def test_a_field_may_be_called_self() -> None:
    @record
    class Odd:
        self: int
        other: str = "o"

    odd = Odd(self=1)
    assert odd.self == 1 and Odd(2, "p").other == "p"


def test_class_vars_are_not_fields() -> None:
    @record
    class Counted:
        name: str
        made: ClassVar[int] = 0

    assert [f.name for f in fields(Counted)] == ["name"]
    assert Counted("a") == Counted("a") and Counted.made == 0


def test_a_plain_default_stays_a_class_attribute_and_a_factory_does_not() -> None:
    assert Report.reason == ""
    assert "files" not in Report.__dict__
    assert Stats.secret == "hidden"


# --------------------------------------------------------------------------- definition errors


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    with pytest.raises(TypeError, match="field 'b' without a default follows"):
        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_a_mutable_default_is_refused_as_dataclasses_does() -> None:
    with pytest.raises(ValueError, match="mutable default <class 'list'> for field items"):
        @record
        class Bad:
            items: list[str] = []  # noqa: RUF012


def test_default_and_default_factory_together_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


# --------------------------------------------------------------------------- repr, eq, hash


def test_repr_names_the_class_and_each_shown_field() -> None:
    assert repr(Report("zip", 3)) == "Report(action='zip', pk=3, files=[], reason='', held={})"
    assert repr(Point(1)) == "Point(x=1, y=0)"
    assert repr(Stats(2)) == "Stats(requests=2)"  # repr=False leaves secret out
    assert repr(Pattern("a")) == "Pattern(regex='a', count=1, hits=0, seen=[])"


def test_a_record_that_holds_itself_repr_s_as_dots() -> None:
    report = Report("zip", 1)
    report.held = {"me": report}  # type: ignore[dict-item]
    assert repr(report) == "Report(action='zip', pk=1, files=[], reason='', held={'me': ...})"


def test_a_method_the_class_defines_is_kept() -> None:
    @record
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert repr(Named("n")) == "<n>"


def test_equality_compares_the_compared_fields_of_the_same_class() -> None:
    assert Report("zip", 1, ["a"]) == Report("zip", 1, ["a"])
    assert Report("zip", 1, ["a"]) != Report("zip", 1, ["b"])
    assert Stats(1, "x") == Stats(1, "y")  # compare=False leaves secret out
    assert Stats(1) != Stats(2)


def test_equality_with_another_class_is_not_implemented() -> None:
    @record(frozen=True)
    class Other:
        x: int
        y: int = 0

    assert Point(1) != Other(1)  # type: ignore[comparison-overlap]
    assert Point.__eq__(Point(1), Other(1)) is NotImplemented
    assert Point(1) != (1, 0)  # type: ignore[comparison-overlap]


def test_a_frozen_record_hashes_by_its_compared_fields() -> None:
    assert hash(Point(1, 2)) == hash(Point(1, 2)) == hash((1, 2))
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_a_mutable_record_is_unhashable_as_a_dataclass_is() -> None:
    assert Report.__hash__ is None
    with pytest.raises(TypeError, match="unhashable type: 'Report'"):
        hash(Report("zip", 1))


def test_an_explicit_hash_is_kept() -> None:
    @record
    class Keyed:
        key: str

        def __hash__(self) -> int:
            return len(self.key)

    assert hash(Keyed("abc")) == 3


# --------------------------------------------------------------------------- frozen


def test_a_frozen_record_refuses_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'other'"):
        point.other = 2  # type: ignore[attr-defined]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'y'"):
        del point.y
    assert point == Point(1)
    assert issubclass(FrozenInstanceError, AttributeError)


def test_a_mutable_record_takes_assignment() -> None:
    report = Report("zip", 1)
    report.reason = "changed"
    assert report.reason == "changed"


# --------------------------------------------------------------------------- fields, asdict


def test_fields_are_in_init_order_from_the_class_or_an_instance() -> None:
    names = ["action", "pk", "files", "reason", "held"]
    assert [f.name for f in fields(Report)] == names
    assert [f.name for f in fields(Report("zip", 1))] == names
    secret = fields(Stats)[1]
    assert (secret.default, secret.repr, secret.compare, secret.init) == ("hidden", False, False,
                                                                          True)


def test_fields_and_asdict_refuse_what_is_not_a_record() -> None:
    with pytest.raises(TypeError, match="takes a record class or instance"):
        fields(object())
    with pytest.raises(TypeError, match="takes a record instance"):
        asdict(Report)


@record
class Tree:
    name: str
    children: list[Tree] = field(default_factory=list)
    by_name: dict[str, Point] = field(default_factory=dict)
    pair: tuple[Point, ...] = ()
    extra: Any = None


def test_asdict_converts_records_inside_lists_tuples_and_dicts() -> None:
    tree = Tree("root", [Tree("leaf", pair=(Point(1),))], {"p": Point(2, 3)})
    assert asdict(tree) == {
        "name": "root",
        "children": [{"name": "leaf", "children": [], "by_name": {}, "pair": ({"x": 1, "y": 0},),
                      "extra": None}],
        "by_name": {"p": {"x": 2, "y": 3}},
        "pair": (),
        "extra": None,
    }


def test_asdict_copies_so_the_result_can_be_changed_freely() -> None:
    class Box:
        def __init__(self) -> None:
            self.items = [1]

    tree = Tree("root", extra=Box())
    out = asdict(tree)
    out["children"].append("x")
    assert tree.children == []
    assert isinstance(out["extra"], Box) and out["extra"] is not tree.extra
    assert out["extra"].items == [1] and out["extra"].items is not tree.extra.items


def test_asdict_includes_fields_left_out_of_repr_and_init() -> None:
    assert asdict(Stats(1)) == {"requests": 1, "secret": "hidden"}
    assert asdict(Pattern("a")) == {"regex": "a", "count": 1, "compiled": ["a"], "hits": 0,
                                     "seen": []}


# --------------------------------------------------------------------------- inheritance


def test_a_subclass_record_puts_the_bases_fields_first() -> None:
    @record(frozen=True)
    class Point3(Point):
        z: int = 0

    point = Point3(1, 2, 3)
    assert [f.name for f in fields(Point3)] == ["x", "y", "z"]
    assert repr(point).endswith("<locals>.Point3(x=1, y=2, z=3)")  # its __qualname__
    assert point != Point(1, 2)  # another class
    with pytest.raises(FrozenInstanceError):
        point.z = 4  # type: ignore[misc]


def test_a_redefined_field_keeps_its_place_and_takes_the_new_default() -> None:
    @record
    class Base:
        a: int = 1
        b: int = 2

    @record
    class Child(Base):
        a: int = 10

    assert [f.name for f in fields(Child)] == ["a", "b"]
    assert Child() == Child(10, 2)


def test_frozen_and_mutable_records_do_not_mix() -> None:
    with pytest.raises(TypeError, match="a frozen record cannot inherit from a mutable one"):
        @record(frozen=True)
        class Bad(Report):  # type: ignore[misc]
            extra: int = 0


# --------------------------------------------------------------------------- parity


@dataclasses.dataclass
class DataReport:
    action: str
    pk: int | None
    files: list[str] = dataclasses.field(default_factory=list)
    reason: str = ""
    held: dict[str, str] = dataclasses.field(default_factory=dict)


@pytest.mark.parametrize("args", [("zip", 1), ("nothing", None, ["a", "b"], "r", {"k": "v"})])
def test_a_record_and_the_same_dataclass_agree(args: tuple[Any, ...]) -> None:
    ours, theirs = Report(*args), DataReport(*args)
    assert repr(ours) == repr(theirs).replace("DataReport", "Report", 1)
    assert asdict(ours) == dataclasses.asdict(theirs)
    assert [f.name for f in fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert vars(ours) == vars(theirs)
    assert (ours == Report(*args)) == (theirs == DataReport(*args)) is True


def test_a_record_of_more_fields_than_the_written_out_inits_works_the_same() -> None:
    names = [f"f{i}" for i in range(20)]
    wide = record(type("Wide", (), {"__annotations__": dict.fromkeys(names, "int"), "f19": 0}))
    made = wide(*range(19))
    assert [getattr(made, name) for name in names] == [*range(19), 0]
    assert made == wide(*range(19), f19=0)
    with pytest.raises(TypeError, match=r"Wide.__init__\(\) missing 1 required positional "
                                        r"argument: 'f18'"):
        wide(*range(18))
