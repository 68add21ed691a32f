"""virtnet reads YAML as kubectl does: sigs.k8s.io/yaml → its go-yaml v2 fork (YAML 1.1 typing) → JSON.

Each case is a YAML document and the JSON kubectl would send for it, derived from the upstream source:

- R  = sigs.k8s.io/yaml@v1.4.0:goyaml.v2/resolve.go — ``resolveMapList`` (the words), ``resolve`` (hints 'D'/'S':
       underscores removed, ``strconv.ParseInt(s, 0, 64)``, ``ParseUint``, ``yamlStyleFloat``, ``0b``/``-0b``,
       big.Int), hint '.' (``strconv.ParseFloat``), anything else a string;
- D  = gopkg.in/yaml.v2@v2.4.0:decode.go — ``decoder.scalar`` (a quoted scalar is ``!!str``; a timestamp decoded
       into ``interface{}`` stays a string; ``!!binary`` is base64-decoded), ``decoder.mapping`` / ``merge``
       (``<<`` processed in order, overwriting; a sequence merged last-first);
- Y  = sigs.k8s.io/yaml@v1.4.0:yaml.go ``convertToJSONableObject`` (keys: int → decimal, bool → true/false,
       float → ``FormatFloat(f, 'g', -1, 32)``, anything else refused);
- J  = Go encoding/json ``floatEncoder`` (NaN/±Inf refused — "json: unsupported value"; an integral float below
       1e21 is written without a fraction, so the API server reads an integer).

Where YAML 1.1 and 1.2 differ (booleans, octal, sexagesimal, underscores) the expected value is go-yaml v2's —
which is neither PyYAML's (``12:30`` is 750 there) nor a YAML 1.2 parser's (``yes`` is a string there). Every case
runs through both the exact path (libyaml composer) and the fast path (yaml-rs, when the scan lets it), and the
property tests check that the fast path never gives another value than the exact one.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from virtnet.errors import InputError
from virtnet.formats import yamlio
from virtnet.formats.yamlio import _differs, _exact, key_string, load_documents, load_yaml11, resolve_plain

# (YAML value text, expected JSON, source)
VALUES: list[tuple[str, str, str]] = [
    # booleans: YAML 1.1 words in their three case forms (R resolveMapList); other spellings are strings
    *[(w, "true", "R") for w in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE")],
    *[(w, "false", "R") for w in ("n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE")],
    ("yEs", '"yEs"', "R"),
    ("tRUE", '"tRUE"', "R"),
    ("oN", '"oN"', "R"),
    ('"yes"', '"yes"', "D: quoted is !!str"),
    ("'off'", '"off"', "D: quoted is !!str"),
    ("!!str yes", '"yes"', "R: !!str is not resolved"),
    # null
    *[(w, "null", "R") for w in ("~", "null", "Null", "NULL", "")],
    ("nULL", '"nULL"', "R"),
    # integers: ParseInt(base 0) after removing '_'
    ("0777", "511", "R: leading 0 is octal"),
    ("0o17", "15", "R: Go 1.13 base-0 prefix 0o"),
    ("0x1F", "31", "R"),
    ("0X1f", "31", "R"),
    ("0b101", "5", "R"),
    ("-0b101", "-5", "R"),
    ("1_000", "1000", "R: underscores removed"),
    ("0x_1F", "31", "R: underscores removed"),
    ("+12", "12", "R"),
    ("-0", "0", "R"),
    ("08", "8", "R: not octal → yamlStyleFloat 8.0 → J integral"),
    ("9223372036854775807", "9223372036854775807", "R: int64"),
    ("9223372036854775808", "9223372036854775808", "R: ParseUint"),
    ("18446744073709551616", "18446744073709551616", "R: past uint64 a decimal is a float → J integral"),
    ("0x10000000000000000", "18446744073709551616", "R: big.Int for a prefixed number"),
    ("_1", '"_1"', "R: '_' is no hint"),
    # floats
    ("1.5", "1.5", "R"),
    ("1e3", "1000", "R yamlStyleFloat → J integral"),
    ("1.0", "1", "J: integral float sent as an integer"),
    (".5", "0.5", "R: hint '.'"),
    ("-.5", "-0.5", "R"),
    ("1.", "1", "R → J"),
    ("6.02e23", "6.02e+23", "R: 1e21 and above stay floats (J)"),
    ("1e400", '"1e400"', "R: ParseFloat range error → string"),
    ("1.2.3", '"1.2.3"', "R"),
    ("10.7.0.1", '"10.7.0.1"', "R"),
    # no sexagesimal, no typed timestamps
    ("12:30:00", '"12:30:00"', "R: base 60 purposefully unsupported"),
    ("1:20", '"1:20"', "R"),
    ("2001-12-14", '"2001-12-14"', "D: timestamp into interface{} stays a string"),
    ("2001-12-14T21:59:43.10-05:00", '"2001-12-14T21:59:43.10-05:00"', "D"),
    ("!!timestamp 2001-12-14", '"2001-12-14"', "D"),
    # explicit tags
    ('!!int "12"', "12", "R: resolve with tag !!int"),
    ("!!float 1", "1", "R: int accepted as !!float → J integral"),
    ("!!str 0777", '"0777"', "R"),
    ("!foo bar", '"bar"', "R: resolvableTag false: the text"),
    ("!!binary aGVsbG8=", '"hello"', "D: base64-decoded"),
    # strings that only look special
    ("a6:bd:8c:c2:19:57", '"a6:bd:8c:c2:19:57"', "R: 'a' is no hint"),
    ("10Gi", '"10Gi"', "R"),
    ("<<", '"<<"', "R: '<' is no hint"),
]


def _value(text: str) -> Any:
    (doc,) = load_documents(f"v: {text}\n", "t.yaml")
    return doc.data["v"]


@pytest.mark.parametrize(("text", "expected", "source"), VALUES, ids=[v[0] or "<empty>" for v in VALUES])
def test_values_are_what_kubectl_sends(text: str, expected: str, source: str) -> None:
    assert json.dumps(_value(text)) == expected, source
    (_index, data, _) = _exact(f"v: {text}\n", "t.yaml", 0, 0, False)[0]  # the exact path, whatever the scan says
    assert json.dumps(data["v"]) == expected, source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (".inf", "json: unsupported value: inf"),  # J
        ("-.Inf", "json: unsupported value: -inf"),  # J
        (".NaN", "json: unsupported value: nan"),  # J
        ("!!int foo", "cannot decode !!str `foo` as a !!int"),  # R: the deferred tag check
        ("!!bool 1", "cannot decode !!int `1` as a !!bool"),  # R
        ('!!binary "@@@"', "!!binary value contains invalid base64 data"),  # D
    ],
)
def test_values_kubectl_cannot_send_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as err:
        load_documents(f"a: 1\nv: {text}\n", "t.yaml")
    assert err.value.location.line == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80: http", {"80": "http"}),  # Y: int key
        ("0x10: a", {"16": "a"}),  # R + Y
        ("yes: 1", {"true": 1}),  # R + Y: bool key
        ("off: 1", {"false": 1}),
        ("1.5: a", {"1.5": "a"}),  # Y: FormatFloat 'g' 32-bit
        ("1e6: a", {"1e+06": "a"}),  # Y: exponent form from 1e6
        ("0.1: a", {"0.1": "a"}),  # Y: float32 shortest digits
        ('"yes": 1', {"yes": 1}),  # D: quoted key is a string
    ],
)
def test_keys_become_strings_like_sigs_yaml(text: str, expected: dict[str, Any]) -> None:
    assert load_documents(text + "\n", "t.yaml")[0].data == expected


@pytest.mark.parametrize("text", ["~: 1", "null: 1", "? [a]\n: 1"])
def test_keys_sigs_yaml_refuses_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        load_documents(text + "\n", "t.yaml")


def test_float_keys_format_like_go() -> None:
    assert [key_string(v) for v in (1e300, -1e300)] == [".inf", "-.inf"]  # float32 overflow, as Go converts
    assert [key_string(v) for v in (1.5, 100000.0, 1e6, 1e-5, 0.0001, 3.14159265)] == [
        "1.5",
        "100000",
        "1e+06",
        "1e-05",
        "0.0001",
        "3.1415927",  # float32 precision
    ]


def test_merge_keys_follow_go_yaml_v2() -> None:
    text = """\
base: &base {a: 1, b: 2}
other: &other {a: 9, c: 3}
after: {<<: *base, b: 5}          # explicit key after the merge overrides it
before: {b: 5, <<: *base}         # D: pairs in order, the merge overwrites b
both: {<<: [*base, *other]}       # D: a sequence is merged last-first: earlier maps win
tagged: {!!merge <<: *other}
"""
    data = load_documents(text, "m.yaml")[0].data
    assert data["after"] == {"a": 1, "b": 5}
    assert data["before"] == {"b": 2, "a": 1}
    assert data["both"] == {"a": 1, "c": 3, "b": 2}
    assert data["tagged"] == {"a": 9, "c": 3}


def test_duplicate_keys_are_refused_but_merged_keys_are_not_duplicates() -> None:
    with pytest.raises(InputError, match="duplicate key 'a'"):
        load_documents("a: 1\nb: 2\na: 3\n", "d.yaml")
    with pytest.raises(InputError, match="duplicate key 'true'"):
        load_documents("yes: 1\non: 2\n", "d.yaml")  # both resolve to the key "true"
    assert load_documents("x: &x {a: 1}\nz: {<<: *x, a: 2}\n", "d.yaml")[0].data["z"] == {"a": 2}


def test_positions_are_recomposed_on_demand() -> None:
    text = "---\nkind: A\nmetadata:\n  name: x\n---\nkind: B\nspec:\n  v: [1, 2]\n"
    docs = load_documents(text, "p.yaml")
    assert [d.index for d in docs] == [0, 1]
    assert docs[1]._positions is None  # nothing composed for positions yet
    assert docs[1].position(("spec", "v", 1)) == (8, 10)
    assert docs[0].position(("metadata", "name")) == (4, 3)


# --- the fast path never disagrees with the exact path --------------------------------------------------------

_TOKEN = st.text(alphabet="0123456789+-._eExXoObByYnNaAfFtTlLsSuUiI:~ ", min_size=0, max_size=8)


@settings(max_examples=600, deadline=None)
@given(token=_TOKEN, shape=st.sampled_from(["v: {}\n", "- {}\n", "v: [{}]\n", "{}: v\n", "v:\n  {}\n"]))
def test_fast_path_agrees_with_go_rules(token: str, shape: str) -> None:
    """Whenever the scan lets yaml-rs read a document, yaml-rs's value is the exact (go-yaml v2) value."""
    text = shape.format(token)
    if _differs(text):
        return
    try:
        fast = yaml_rs.loads(text, parse_datetime=False)
    except Exception:
        return
    try:
        exact = _exact(text, "t", 0, 0, False)
    except InputError:
        pytest.fail(f"yaml-rs read {text!r} as {fast!r}; go-yaml v2 refuses it")
    assert fast == (exact[0][1] if exact else None), text


@settings(max_examples=300, deadline=None)
@given(token=_TOKEN)
def test_cloud_init_fast_path_agrees_with_pyyaml(token: str) -> None:
    """load_yaml11 (cloud-init's reading) gives PyYAML's value whether or not it takes the fast path."""
    import yaml

    text = f"a: {token}\nb:\n- {token}\n"
    try:
        expected = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    except ValueError:  # PyYAML's own constructor crashes (e.g. on 0x_): cloud-init cannot read it either
        with pytest.raises(yaml.YAMLError):
            load_yaml11(text)
        return
    assert load_yaml11(text) == expected


def test_cloud_init_text_pyyaml_cannot_construct_is_a_yaml_error() -> None:
    import yaml

    with pytest.raises(yaml.YAMLError, match="cannot read a value"):
        load_yaml11("a: 0x_\n")


def test_resolve_plain_is_the_table() -> None:
    assert resolve_plain("") is None
    assert resolve_plain("0777") == 511
    assert resolve_plain("yes") is True
    assert resolve_plain("12:30") == "12:30"


def test_the_fast_path_is_used_for_ordinary_manifests() -> None:
    vm = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm\nspec:\n  running: true\n"
    assert not _differs(vm)
    assert yamlio._fast_value(vm)[0]


@settings(max_examples=500, deadline=None)
@given(token=_TOKEN, shape=st.sampled_from(["v: {}\n", "- {}\n", "v: [{}]\n", "{}: v\n", "v: !!int {}\n"]))
def test_the_exact_path_refuses_only_with_input_errors(token: str, shape: str) -> None:
    """Whatever the scalar, reading it gives a value or one InputError — never another exception (exit 70)."""
    with contextlib.suppress(InputError):
        load_documents(shape.format(token), "t.yaml")
