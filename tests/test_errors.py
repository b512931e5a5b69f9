"""wmgeom.errors: one line per configuration error, naming every problem by its dotted key."""

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from wmgeom.errors import WmgeomError, format_validation_error, validated


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(4, ge=1)
    name: str = "a"

    @field_validator("name")
    @classmethod
    def _not_bad(cls, v: str) -> str:
        if v == "bad":
            raise ValueError("name may not be 'bad'")
        return v


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Section = Field(default_factory=Section)
    items: list[Section] = []
    lr: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _not_seven(self):
        if self.lr == 7:
            raise ValueError("lr may not be 7")
        return self


class Named(BaseModel):
    name: str


def message(data, prefix="cfg", model=Config) -> str:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return format_validation_error(exc.value, prefix)


@pytest.mark.parametrize("data, expected", [
    ({"modle": {}}, "cfg: unknown key 'modle'"),
    ({"model": {"sise": 3}}, "cfg: unknown key 'model.sise'"),
    ({"items": [{}, {"colour": 1}]}, "cfg: unknown key 'items.1.colour'"),
])
def test_unknown_keys_are_named_by_dotted_key(data, expected):
    assert message(data) == expected


@pytest.mark.parametrize("data, expected", [
    ({"model": {"size": -3}}, "cfg: model.size = -3: Input should be greater than or equal to 1"),
    ({"lr": "fast"},
     "cfg: lr = 'fast': Input should be a valid number, unable to parse string as a number"),
    ({"items": [{"size": 2}, {"size": 0}]},
     "cfg: items.1.size = 0: Input should be greater than or equal to 1"),
    ({"model": "big"}, "cfg: model = 'big': Input should be a valid dictionary or instance of "
                       "Section"),
])
def test_bad_plain_value_is_quoted(data, expected):
    assert message(data) == expected


def test_value_error_prefix_is_dropped():
    msg = message({"model": {"name": "bad"}})
    assert msg == "cfg: model.name = 'bad': name may not be 'bad'"
    assert "Value error" not in msg


def test_mapping_or_list_value_is_not_quoted():
    assert message({"model": [1, 2]}) == ("cfg: model: Input should be a valid dictionary or "
                                          "instance of Section")
    assert message({"items": {"a": 1}}) == "cfg: items: Input should be a valid list"


def test_whole_model_error_is_top_level():
    assert message({"lr": 7}) == "cfg: (top level): lr may not be 7"


def test_missing_field_and_default_prefix():
    with pytest.raises(ValidationError) as exc:
        Named.model_validate({})
    assert format_validation_error(exc.value) == "config: name: Field required"


def test_several_problems_joined_on_one_line():
    msg = message({"x": 1, "lr": -1, "model": {"size": 0, "name": "bad"}}, "run config r.yaml")
    assert "\n" not in msg
    assert msg.startswith("run config r.yaml: ")
    assert msg.removeprefix("run config r.yaml: ").split("; ") == [
        "model.size = 0: Input should be greater than or equal to 1",
        "model.name = 'bad': name may not be 'bad'",
        "lr = -1: Input should be greater than 0",
        "unknown key 'x'",
    ]


def test_validated_returns_the_model():
    cfg = validated(Config, {"lr": 0.5, "model": {"size": 2}}, "cfg")
    assert isinstance(cfg, Config)
    assert cfg.lr == 0.5 and cfg.model.size == 2 and cfg.model.name == "a"


def test_validated_raises_one_wmgeom_line_without_the_pydantic_chain():
    with pytest.raises(WmgeomError) as exc:
        validated(Config, {"model": {"size": 0}, "extra": True}, "config c.yaml")
    assert str(exc.value) == ("config c.yaml: model.size = 0: Input should be greater than or "
                              "equal to 1; unknown key 'extra'")
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
