"""Display and voice keys of config.yaml: a mistake names the file, the key and what is wrong."""

from __future__ import annotations

import pytest
import yaml

from queuekiosk.server.core.config import ConfigError, load_config


def _write(tmp_path, config_data, **display):
    config_data["displays"][0].update(display)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    return path


def test_slides_are_found_beside_the_config_file(tmp_path, config_data):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "welcome.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "intro.webm").write_bytes(b"\x1a\x45\xdf\xa3")
    config = load_config(_write(tmp_path, config_data, slides=["media/welcome.png", "intro.webm"], slide_seconds=8))
    assert config.displays[0].slides == ["media/welcome.png", "intro.webm"]


def test_a_missing_slide_is_a_clear_config_error(tmp_path, config_data):
    (tmp_path / "welcome.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = _write(tmp_path, config_data, slides=["welcome.png", "media/gone.jpg"])
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == (
        f"{path}: displays[0].slides[1]: no such file: {tmp_path / 'media/gone.jpg'} "
        "(a relative path starts at the folder of the configuration file)"
    )


def test_a_slide_that_is_not_an_image_or_video_is_refused(tmp_path, config_data):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"displays\[0\]\.slides\[0\]: 'notes.txt' is not an image or video"):
        load_config(_write(tmp_path, config_data, slides=["notes.txt"]))


@pytest.mark.parametrize(
    "phrase, problem",
    [
        ("Mời số {number}", "must contain {number} and {counter}"),
        ("Mời số {number} quầy {counter} {room}", "no other {field}"),
        ("Mời số {number quầy", "not a usable phrase"),
    ],
)
def test_a_phrase_needs_number_and_counter(tmp_path, config_data, phrase, problem):
    with pytest.raises(
        ConfigError, match=r"displays\[0\]\.voice\.phrase: .*" + problem.replace("{", r"\{").replace("}", r"\}")
    ):
        load_config(_write(tmp_path, config_data, voice={"phrase": phrase}))


def test_voice_keys(tmp_path, config_data):
    config = load_config(
        _write(
            tmp_path,
            config_data,
            voice={"language": "vi+en", "region": "south", "repeat": 1, "chime": False},
            layout="portrait",
        )
    )
    voice = config.displays[0].voice
    assert (voice.language, voice.region, voice.repeat, voice.chime) == ("vi+en", "south", 1, False)
    assert config.sounds.recordings == "recordings" and config.sounds.tts == "auto"
    with pytest.raises(ConfigError, match=r"displays\[0\]\.voice\.region"):
        load_config(_write(tmp_path, config_data, voice={"region": "central"}))


def test_every_tts_name_config_accepts_has_an_engine():
    from typing import get_args

    from queuekiosk.server.core.config_schema import Sounds  # config.yaml's checks
    from queuekiosk.sounds.tts import ENGINES, SpeechEngine

    assert set(ENGINES) == set(get_args(Sounds.model_fields["tts"].annotation))
    assert all(issubclass(engine, SpeechEngine) for engine in ENGINES.values())
