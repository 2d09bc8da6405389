"""A WHEP endpoint on aiortc (an independent WebRTC stack) for the recorder's interop tests.

Serves one marker source to every session: grey video with a white flash and silence with a
1 kHz beep, both during the first 100 ms of every 2 s, in sync on the wire (both tracks are paced
from one clock and stamped from it; aiortc's RTCP sender reports tie them together).

    POST   /whep            offer (application/sdp) -> 201, answer, Location: /whep/session/<id>
    DELETE /whep/session/ID ends the session
    PATCH  /whep/session/ID trickle ICE (application/trickle-ice-sdpfrag: the client's
                            candidates, added with addIceCandidate) -> 204; 405 with --no-trickle;
                            an ICE restart (application/sdp) -> 405: aiortc cannot restart ICE

Options choose the video codec (vp8, h264), the DTLS role of the answer (active: aiortc is the
DTLS client, its default; passive: the recorder is), a bearer token, a refusing endpoint (403)
a server that expects another certificate than the recorder's (DTLS cannot agree) and one
whose answer names another certificate than the one it presents (--lie-fingerprint). The
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
from aiortc.sdp import candidate_from_sdp
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
    pc.trickled = set()

    @pc.on("connectionstatechange")
    async def on_state():
        event("state", session=session, state=pc.connectionState)
        if pc.connectionState == "connected":
            event("selected", session=session, **selected_remote(pc))

    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription.sdp
    if args.lie_fingerprint:
        answer = wrong_fingerprint(answer)
    sessions[session] = pc
    event("answer", session=session, sdp=answer)
    headers = {"Location": f"/whep/session/{session}"}
    if not args.no_trickle:
        headers["Accept-Patch"] = "application/trickle-ice-sdpfrag"
    return web.Response(status=201, content_type="application/sdp", text=answer, headers=headers)


def selected_remote(pc):
    """The remote (recorder's) candidate of the nominated pair, and where it came from: the offer,
    a PATCH (trickled) or learned from the recorder's checks (prflx)."""
    connection = pc.getTransceivers()[0].receiver.transport.transport._connection
    pair = next(iter(connection._nominated.values()), None)
    if pair is None:
        return {"from": None}
    c = pair.remote_candidate
    if c.type == "prflx":
        origin = "prflx"
    elif (c.host, c.port) in pc.trickled:
        origin = "patch"
    else:
        origin = "offer"
    return {"from": origin, "candidate": f"{c.host} {c.port} typ {c.type}"}


async def delete(request):
    pc = sessions.pop(request.match_info["id"], None)
    if pc is None:
        return web.Response(status=404)
    event("deleted", session=request.match_info["id"])
    await pc.close()
    return web.Response(status=200)


async def patch(request):
    id = request.match_info["id"]
    body = await request.text()
    kind = request.headers.get("Content-Type", "")
    event("patch", session=id, content_type=kind, body=body)
    pc = sessions.get(id)
    if pc is None:
        return web.Response(status=404)
    if args.no_trickle or not kind.startswith("application/trickle-ice-sdpfrag"):
        return web.Response(status=405, headers={"Allow": "POST, DELETE"})
    mid = None
    for line in body.splitlines():
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:"):]
        elif line.startswith("a=candidate:"):
            candidate = candidate_from_sdp(line[len("a=candidate:"):])
            candidate.sdpMid = mid
            pc.trickled.add((candidate.ip, candidate.port))
            await pc.addIceCandidate(candidate)
        elif line == "a=end-of-candidates":
            await pc.addIceCandidate(None)
    return web.Response(status=204)


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
    p.add_argument("--lie-fingerprint", action="store_true",
                   help="answer with another fingerprint than the certificate presented")
    p.add_argument("--no-trickle", action="store_true",
                   help="no Accept-Patch in the 201; PATCH answers 405")
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
