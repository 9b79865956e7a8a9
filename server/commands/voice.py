"""`queuekiosk voice ...`: the clip set, the centre's recordings, a call to listen to."""

from pathlib import Path

import click

from ..core.config import config_path
from .common import CONFIG_HELP, current_config, say


@click.group()
def voice():
    """Voice announcements: the clip set, the centre's recordings, a preview to listen to."""


@voice.command("build-clips")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to write the clips (default: the shipped set, sounds/clips/ of the installed package)",
)
@click.option(
    "--engine",
    type=click.Choice(["espeak-ng", "pyttsx3"]),
    default="espeak-ng",
    show_default=True,
    help="espeak-ng's command line (deterministic) or pyttsx3 driving espeak-ng",
)
def voice_build_clips(out, engine):
    """Make the whole clip set again with espeak-ng: number words, phrase parts, chime."""
    from ...sounds.build import build_clips
    from ...sounds.voice import SHIPPED

    target = out or SHIPPED
    try:
        count = build_clips(target, engine, report=lambda line: click.echo(f"  {line}"))
    except RuntimeError as error:
        raise click.ClickException(say("cli_no_clips", detail=str(error))) from None
    click.echo(say(("cli_clips_written", {"count": count, "target": str(target)})))


@voice.command("clips")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def voice_clips(config_file):
    """List every clip name, and which ones the centre's recordings folder replaces; for a full
    recorded set (voice-set.json), every clip it still lacks."""
    from ...sounds.tts import NoTts
    from ...sounds.voice import SHIPPED, ClipLibrary, VoiceSet

    path = config_path(config_file)
    config = current_config(path)
    recordings = path.parent / config.sounds.recordings
    library = ClipLibrary(recordings, Path("/nonexistent"), NoTts())
    folder = "cli_recordings_folder" if recordings.is_dir() else "cli_recordings_folder_missing"
    click.echo(say((folder, {"path": str(recordings)})))
    for name in library.names():
        found = library.find(name)
        where = "recording" if found and not found.is_relative_to(SHIPPED) else "shipped"
        click.echo(f"  {name}.wav  {where}")
    voice_set = VoiceSet.check(recordings, config)  # a full recorded set (voice-set.json): what it lacks
    if voice_set is not None:
        have, need = len(voice_set.required) - len(voice_set.missing), len(voice_set.required)
        key = "cli_voice_set_complete" if voice_set.complete else "cli_voice_set_incomplete"
        click.echo(say((key, {"name": voice_set.name, "have": have, "need": need})))
        for line in [f"{name}.wav" for name in voice_set.missing] + voice_set.problems:
            click.echo(f"  - {line}")


@voice.command("preview")
@click.option("--number", required=True, type=click.IntRange(0), help="the ticket number, e.g. 1023")
@click.option("--counter", required=True, type=click.IntRange(1), help="the counter number")
@click.option("--display", "display_id", default=None, help="whose voice settings (default: the first display)")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also copy the WAV here (e.g. to play it with aplay)",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def voice_preview(number, counter, display_id, out, config_file):
    """Print the sentence of a call and make its WAV, as a display would play it."""
    import shutil

    from ...sounds.voice import Announcer
    from ...sounds.web import voice_of
    from ..core.config import instance_dir_for

    path = config_path(config_file)
    config = current_config(path)
    if display_id is not None and config.display(display_id) is None:
        raise click.BadParameter(say(("cli_no_display", {"display": display_id})), param_hint="--display") from None
    announcer = Announcer(config, path.parent, instance_dir_for(path))
    try:
        spoken = announcer.announce(
            voice_of(config, display_id or (config.displays[0].id if config.displays else None)), number, counter
        )
    finally:
        announcer.close()
    click.echo(spoken.text)
    if spoken.text_en:
        click.echo(spoken.text_en)
    if spoken.key is None:
        raise click.ClickException(say("cli_no_audio")) from None
    wav_path = announcer.path_of(spoken.key)
    if out:
        shutil.copyfile(wav_path, out)
        wav_path = out
    click.echo(str(wav_path))
