"""Voice announcements: number words (announce.py), the clip library and the announcement WAVs
(voice.py, wav.py), text to speech for text without a clip (tts.py, tts_worker.py), the shipped
clip set (clips/, made by build.py) and the HTTP endpoints (web.py). docs/display-and-voice.md
explains it for installers.
"""
