"""A call whose audio cannot be made is still said on screen, and the log line says which counter
and number it was about (server/core/logs.py: ``[site counter=5 ticket=1023]``)."""

import logging

from queuekiosk.server.core.config import Voice
from queuekiosk.sounds.tts import NoTts
from queuekiosk.sounds.voice import Announcer


def test_a_call_whose_audio_cannot_be_written_is_logged_with_its_counter_and_number(config, tmp_path, caplog):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "announcements").write_text("not a folder")  # where the WAVs go cannot hold them
    announcer = Announcer(config, tmp_path, instance, tts=NoTts())
    try:
        with caplog.at_level(logging.ERROR, logger="queuekiosk.voice"):
            spoken = announcer.announce(Voice(), 1023, 5)
    finally:
        announcer.close()
    assert spoken.key is None and spoken.text  # the call is shown, without audio
    [line] = [r for r in caplog.records if "could not make the announcement" in r.getMessage()]
    assert (line.counter, line.ticket) == (5, "1023")
