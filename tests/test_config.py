"""A broken config.toml fails at start with a message naming the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import TRIAGE, ConfigError, load

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "config.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_models_the_eight_sectors_with_their_ministries() -> None:
    settings = load(ROOT / "config.toml", environ={})
    blocks = {sector_id: sector for sector_id, sector in settings.sectors.items() if not sector.triage}
    assert len(blocks) == 8
    assert settings.sectors["housing"].ministry == settings.sectors["energy"].ministry == "energy_housing"
    assert settings.sectors["roads"].ministry == settings.sectors["transport"].ministry == "transport_roads"
    # The catch-all goes to the ЦУР's own triage, with one category and no ministry of its own.
    assert settings.sectors["other"].ministry == TRIAGE and [c.id for c in settings.sectors["other"].categories] == [
        "other"]
    for sector in blocks.values():
        assert len([c for c in sector.categories if c.id != "other"]) >= 3
        assert any(c.name == "Прочие по направлению" for c in sector.categories)
    assert settings.deadlines.default == "30d"


def test_sector_with_too_few_categories_is_named(tmp_path: Path) -> None:
    broken = SHIPPED.replace(
        '  { id = "collection", name = "Вывоз мусора", name_en = "Waste collection" },\n', "")
    broken = broken.replace(
        '  { id = "containers", name = "Контейнерные площадки", name_en = "Container sites" },\n', "")
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, broken), environ={})
    assert "sectors.waste.categories" in str(error.value) and "at least 3" in str(error.value)


def test_unknown_ministry_is_named(tmp_path: Path) -> None:
    broken = SHIPPED.replace('ministry = "health"', 'ministry = "helth"')
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, broken), environ={})
    assert "sectors.health.ministry" in str(error.value) and "'helth'" in str(error.value)


def test_bad_duration_is_named(tmp_path: Path) -> None:
    broken = SHIPPED.replace('default = "30d"', 'default = "30 days"')
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, broken), environ={})
    assert "deadlines.default" in str(error.value) and "30 days" in str(error.value)


def test_unknown_time_zone_is_named(tmp_path: Path) -> None:
    broken = SHIPPED.replace('timezone = "Europe/Moscow"', 'timezone = "Europe/Moskva"')
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, broken), environ={})
    assert "region.timezone" in str(error.value) and "Europe/Moskva" in str(error.value)


def test_misspelt_key_is_reported(tmp_path: Path) -> None:
    broken = SHIPPED.replace("text_min_length", "text_minimum_length")
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, broken), environ={})
    assert "limits.text_minimum_length" in str(error.value) and "unknown key" in str(error.value)


def test_not_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, "[region\nname="), environ={})
    assert "not valid TOML" in str(error.value)


def test_secrets_come_from_the_environment_never_the_file(tmp_path: Path) -> None:
    settings = load(ROOT / "config.toml", environ={"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert settings.telegram.token is not None and settings.telegram.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings.telegram)
    leaked = SHIPPED.replace("[telegram]\n", '[telegram]\ntoken = "123:abc"\n')
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, leaked), environ={})
    assert "telegram.token" in str(error.value) and "environment" in str(error.value)


def test_config_path_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, SHIPPED.replace('number_prefix = "ЦУР"', 'number_prefix = "ОБР"'))
    monkeypatch.setenv("APPEALS_BOT_CONFIG", str(path))
    assert load().region.number_prefix == "ОБР"
