"""A WHEP endpoint on aiortc (an independent WebRTC stack) for the recorder's interop tests.

Serves one marker source to every session: grey video with a white flash and silence with a
1 kHz beep, both during the first 100 ms of every 2 s, in sync on the wire (both tracks are paced
from one clock and stamped from it; aiortc's RTCP sender reports tie them together).

    POST   /whep            offer (application/sdp) -> 201, answer, Location: /whep/session/<id>
    DELETE /whep/session/ID ends the session
    PATCH  /whep/session/ID 405 (no trickle: the answer carries every candidate)

Options choose the video codec (vp8, h264), the DTLS role of the answer (active: aiortc is the
DTLS client, its default; passive: the recorder is), a bearer token, a refusing endpoint (403)
and a server that expects another certificate than the recorder's (DTLS cannot agree). The
picture between flashes is grey, not black, so a test can tell the source's first frame from the
composition's black background. Each event is appended to
--events as a JSON line with the wall-clock time, so a test can time what happened across a
restart of this process.
"""

import argparse
import asyncio
import fractions
import json
import math
import struct
import sys
import time
import uuid

import aioice.ice
from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame, VideoFrame

# aioice leaves 127.0.0.1 out of its host candidates; the tests run on 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

PERIOD = 2.0
ON = 0.1
FPS = 30
W, H = 320, 180
RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms

args = None
sessions = {}
clock_start = None


def event(name, **fields):
    fields.update(event=name, t=time.time())
    with open(args.events, "a") as f:
        f.write(json.dumps(fields) + "\n")


def start_clock():
    """Both tracks' timelines start at the first frame either track is asked for."""
    global clock_start
    if clock_start is None:
        clock_start = time.monotonic()
        event("first-frame")
    return clock_start


async def pace(at):
    delay = start_clock() + at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def marker_on(t):
    return (t % PERIOD) < ON


def solid_frame(luma):
    frame = VideoFrame(W, H, "yuv420p")
    for plane, value in zip(frame.planes, (luma, 128, 128)):
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


class MarkerVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self):
        super().__init__()
        self.n = 0

    async def recv(self):
        t = self.n / FPS
        await pace(t)
        frame = solid_frame(235 if marker_on(t) else 90)
        frame.pts = self.n * (90000 // FPS)
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


class MarkerAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self):
        super().__init__()
        self.n = 0

    async def recv(self):
        first = self.n * AUDIO_SAMPLES
        await pace(first / RATE)
        samples = bytearray()
        for i in range(first, first + AUDIO_SAMPLES):
            t = i / RATE
            v = int(0.5 * 32767 * math.sin(2 * math.pi * 1000 * t)) if marker_on(t) else 0
            samples += struct.pack("<hh", v, v)
        frame = AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate = RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


def only_codec(sdp, codec):
    """The offer with its video section reduced to `codec`'s payload types, so the answer uses it."""
    lines = sdp.splitlines()
    keep = {l.split()[0].split(":")[1] for l in lines
            if l.startswith("a=rtpmap:") and l.split()[1].upper().startswith(codec.upper() + "/")}
    out, video = [], False
    for l in lines:
        if l.startswith("m="):
            video = l.startswith("m=video")
            if video:
                f = l.split()
                l = " ".join(f[:3] + [p for p in f[3:] if p in keep])
        elif video and l.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
            if l.split()[0].split(":")[1] not in keep:
                continue
        out.append(l)
    return "\r\n".join(out) + "\r\n"


def wrong_fingerprint(sdp):
    """`sdp` with every certificate fingerprint's bytes flipped."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=fingerprint:"):
            algo, value = line[len("a=fingerprint:"):].split(" ", 1)
            flipped = ":".join("%02X" % (int(b, 16) ^ 0xFF) for b in value.split(":"))
            line = f"a=fingerprint:{algo} {flipped}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


async def offer(request):
    if args.refuse:
        event("refused")
        return web.Response(status=403, text="this endpoint refuses every session")
    if args.token and request.headers.get("Authorization") != f"Bearer {args.token}":
        event("unauthorized")
        return web.Response(status=401, text="bearer token missing or wrong")
    sdp = await request.text()
    event("offer", sdp=sdp)
    pc = RTCPeerConnection()
    offered = only_codec(sdp, args.codec)
    if args.reject_certificate:
        offered = wrong_fingerprint(offered)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offered, type="offer"))
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            pc.addTrack(MarkerVideo())
        elif transceiver.kind == "audio":
            pc.addTrack(MarkerAudio())
        if args.dtls_role == "passive":
            transceiver.receiver.transport._set_role("server")
    session = uuid.uuid4().hex

    @pc.on("connectionstatechange")
    async def on_state():
        event("state", session=session, state=pc.connectionState)

    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription.sdp
    sessions[session] = pc
    event("answer", session=session, sdp=answer)
    return web.Response(
        status=201,
        content_type="application/sdp",
        text=answer,
        headers={"Location": f"/whep/session/{session}"},
    )


async def delete(request):
    pc = sessions.pop(request.match_info["id"], None)
    if pc is None:
        return web.Response(status=404)
    event("deleted", session=request.match_info["id"])
    await pc.close()
    return web.Response(status=200)


async def patch(request):
    return web.Response(status=405, headers={"Allow": "POST, DELETE"})


def main():
    global args
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--events", required=True, help="file the JSON event lines are appended to")
    p.add_argument("--codec", choices=["vp8", "h264"], default="vp8")
    p.add_argument("--dtls-role", choices=["active", "passive"], default="active")
    p.add_argument("--token", help="require Authorization: Bearer TOKEN")
    p.add_argument("--refuse", action="store_true", help="answer 403 to every offer")
    p.add_argument("--reject-certificate", action="store_true",
                   help="expect another certificate than the offer's: DTLS cannot agree")
    args = p.parse_args()
    app = web.Application()
    app.add_routes(
        [
            web.post("/whep", offer),
            web.delete("/whep/session/{id}", delete),
            web.patch("/whep/session/{id}", patch),
        ]
    )

    asyncio.run(serve(app))


async def serve(app):
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    event("listening", port=args.port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
