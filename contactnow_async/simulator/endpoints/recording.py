"""``recording.php``: the recording of an answered call, as audio (not an envelope).

The vendor documents neither the arguments nor the format. The simulator takes
``callid`` and answers ``audio/wav`` (8 kHz, 16-bit mono): a tone of up to three
seconds, its pitch and length a function of the call, made on demand (nothing
is stored, so a long run keeps no audio). A call with no recording (unknown,
never answered, still in progress, or older than the retained CDR) answers the
documented error form in the format asked for: ``{"success": false, "error":
"Bad argument: callid [90000001] has no recording"}``.
"""

from __future__ import annotations

import io
import math
import struct
import wave

from .._asgi import Request
from .._calls import SimCall
from .._wire import BinaryReply, Reply
from ._conventions import BadArgument
from ._registry import SimState, endpoint

__all__ = ["recording", "wav_of"]

RATE = 8000
LONGEST = 3.0  # seconds of tone at most


@endpoint("recording")
def recording(request: Request, state: SimState) -> Reply | BinaryReply:
    """Answer the recording of ``callid``."""
    callid = request.args.get("callid", "").strip()
    if not callid:
        raise BadArgument("Bad argument: callid")
    if callid in state.scenario.active:
        raise BadArgument(f"Bad argument: callid [{callid}] is still in progress")
    call = state.scenario.cdr.get(callid)
    if call is None or not call.answered:
        raise BadArgument(f"Bad argument: callid [{callid}] has no recording")
    return BinaryReply(wav_of(call), content_type="audio/wav")


def wav_of(call: SimCall) -> bytes:
    """The call's recording: a tone as long as the call was connected, up to three seconds."""
    seconds = min(LONGEST, max(0.25, call.sec_talk))
    pitch = 300 + int(call.callid) % 40 * 10
    frames = int(seconds * RATE)
    samples = struct.pack(
        f"<{frames}h",
        *(int(8000 * math.sin(2 * math.pi * pitch * n / RATE)) for n in range(frames)),
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframes(samples)
    return out.getvalue()
