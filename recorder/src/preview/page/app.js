// The preview page: reads the MJPEG frame stream itself (fetch + multipart parsing) so it can
// count frames and read each frame's headers, draws them on a canvas, and sends edits to the
// server. No build step: plain browser JavaScript served from the binary.
'use strict';

const $ = (id) => document.getElementById(id);
const canvas = $('video');
const ctx = canvas.getContext('2d', { willReadFrequently: true });

// What tests and curious users can read from the console: window.vcsPreview.
const preview = {
  framesDrawn: 0,
  lastFrame: null,
  fps: 0,
  frameMs: 0,
  lastEditLatencyMs: null,
  error: null,
  status: null,
  pixel(x, y) { return Array.from(ctx.getImageData(x, y, 1, 1).data); },
};
window.vcsPreview = preview;

async function post(edit) {
  const r = await fetch('/api/edit', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(edit),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body.edit;
}

// --- Frames -------------------------------------------------------------------------------

const pendingEdits = new Map(); // edit number -> time sent
const frameTimes = [];

function indexOf(buf, pattern, from) {
  outer: for (let i = from; i <= buf.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (buf[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

const HEADER_END = new TextEncoder().encode('\r\n\r\n');

async function readStream() {
  for (;;) {
    try {
      const r = await fetch('/stream.mjpeg', { cache: 'no-store' });
      const reader = r.body.getReader();
      let buf = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf); joined.set(value, buf.length);
        buf = joined;
        for (;;) {
          const end = indexOf(buf, HEADER_END, 0);
          if (end < 0) break;
          const head = new TextDecoder().decode(buf.subarray(0, end));
          const headers = {};
          for (const line of head.split('\r\n')) {
            const c = line.indexOf(':');
            if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
          }
          const len = Number(headers['content-length']);
          const start = end + HEADER_END.length;
          if (buf.length < start + len + 2) break;
          const jpeg = buf.slice(start, start + len);
          buf = buf.slice(start + len + 2);
          await showFrame(jpeg, headers);
        }
      }
    } catch (e) {
      console.warn('frame stream ended, reconnecting', e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// The same frames over a WebSocket (`?transport=ws`): a JSON header, a NUL byte, the JPEG.
function readWebSocket() {
  const ws = new WebSocket(`ws://${location.host}/stream.ws`);
  ws.binaryType = 'arraybuffer';
  let busy = Promise.resolve();
  ws.onmessage = (e) => {
    const bytes = new Uint8Array(e.data);
    const nul = bytes.indexOf(0);
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(0, nul)));
    const headers = { 'x-frame': h.frame, 'x-time': h.time, 'x-applied': h.applied, 'x-ms': h.ms, 'x-stages': h.stages };
    busy = busy.then(() => showFrame(bytes.subarray(nul + 1), headers));
  };
  ws.onclose = () => setTimeout(readWebSocket, 500);
}

const transport = new URLSearchParams(location.search).get('transport') === 'ws' ? 'ws' : 'mjpeg';
preview.transport = transport;

async function showFrame(jpeg, headers) {
  const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width; canvas.height = bitmap.height;
  }
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const now = performance.now();
  preview.framesDrawn++;
  preview.lastFrame = {
    number: Number(headers['x-frame']), time: Number(headers['x-time']),
    applied: Number(headers['x-applied']), ms: Number(headers['x-ms']),
    stages: headers['x-stages'] || '',
  };
  for (const [n, sent] of pendingEdits) {
    if (preview.lastFrame.applied >= n) {
      preview.lastEditLatencyMs = now - sent;
      pendingEdits.delete(n);
    }
  }
  frameTimes.push(now);
  while (frameTimes.length && frameTimes[0] < now - 1000) frameTimes.shift();
  preview.fps = frameTimes.length;
  preview.frameMs = preview.frameMs ? preview.frameMs * 0.9 + preview.lastFrame.ms * 0.1 : preview.lastFrame.ms;
}

function showStats() {
  const age = frameTimes.length ? performance.now() - frameTimes[frameTimes.length - 1] : Infinity;
  if (age > 1000) preview.fps = 0;
  const latency = preview.lastEditLatencyMs == null ? '–' : `${preview.lastEditLatencyMs.toFixed(0)} ms`;
  $('stats').textContent = `${transport}: ${preview.fps} fps · ${preview.frameMs.toFixed(1)} ms/frame (${(preview.lastFrame || {}).stages || ''}) · edit→frame ${latency}`;
}

// --- State, errors, params ---------------------------------------------------------------

let interfaceJson = '';

async function pollState() {
  try {
    const s = await (await fetch('/api/state', { cache: 'no-store' })).json();
    preview.status = s;
    preview.error = s.error;
    $('composition').textContent = `${s.composition} · ${s.width}×${s.height} @ ${s.fps}`;
    $('error').hidden = !s.error;
    $('error').textContent = s.error || '';
    $('time').textContent = `${s.time.toFixed(2)} s`;
    $('play').textContent = s.playing ? 'Pause' : 'Play';
    const iface = JSON.stringify(s.interface || {});
    if (iface !== interfaceJson) {
      interfaceJson = iface;
      buildParams(s.interface || {}, s.params || {});
    }
    if (!participants) { participants = s.participants; buildParticipants(); }
  } catch (e) {
    preview.error = `preview server unreachable: ${e}`;
  }
}

function declared(id) {
  const iface = preview.status && preview.status.interface;
  return ((iface && iface.params) || []).find((p) => p.id === id);
}

async function setParams(params, errorBox) {
  try {
    const n = await post({ type: 'params', params });
    pendingEdits.set(n, performance.now());
    if (errorBox) errorBox.textContent = '';
  } catch (e) {
    if (errorBox) errorBox.textContent = e.message;
  }
}

function buildParams(iface, values) {
  const form = $('params');
  form.replaceChildren();
  const params = iface.params || [];
  if (!params.length) form.textContent = 'This composition declares no params.';
  for (const p of params) {
    const label = document.createElement('label');
    label.textContent = p.id;
    const error = document.createElement('div');
    error.className = 'error';
    const current = p.id in values ? values[p.id] : p.defaultValue;
    let input;
    if (p.type === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = !!current;
      input.onchange = () => setParams({ [p.id]: input.checked }, error);
    } else if (p.type === 'enum') {
      input = document.createElement('select');
      for (const v of p.values || []) {
        const o = document.createElement('option');
        o.value = v; o.textContent = v; o.selected = v === current;
        input.append(o);
      }
      input.onchange = () => setParams({ [p.id]: input.value }, error);
    } else if (p.type === 'number') {
      input = document.createElement('input');
      input.type = 'number';
      for (const k of ['min', 'max', 'step']) if (p[k] != null) input[k] = p[k];
      input.value = current ?? 0;
      input.oninput = () => { if (input.value !== '') setParams({ [p.id]: Number(input.value) }, error); };
    } else {
      input = document.createElement('input');
      input.value = current ?? '';
      input.oninput = () => setParams({ [p.id]: input.value }, error);
    }
    input.dataset.param = p.id;
    label.append(input);
    form.append(label);
    if (p.shortHelpText) {
      const help = document.createElement('div');
      help.className = 'help'; help.textContent = p.shortHelpText;
      form.append(help);
    }
    form.append(error);
  }
}

// --- Participants ------------------------------------------------------------------------

let participants = null;
let nextId = 100;

function sendParticipants() {
  post({ type: 'participants', participants }).then((n) => pendingEdits.set(n, performance.now()));
}

function buildParticipants() {
  const list = $('participants');
  list.replaceChildren();
  participants.forEach((p, i) => {
    const row = document.createElement('div');
    row.className = 'participant';
    const name = document.createElement('input');
    name.value = p.displayName;
    name.onchange = () => { p.displayName = name.value; sendParticipants(); };
    const kind = document.createElement('select');
    for (const k of ['camera', 'screenshare']) {
      const o = document.createElement('option');
      o.value = k; o.textContent = k; o.selected = p.type === k;
      kind.append(o);
    }
    kind.onchange = () => { p.type = kind.value; sendParticipants(); };
    const paused = document.createElement('label');
    const pausedBox = document.createElement('input');
    pausedBox.type = 'checkbox'; pausedBox.checked = p.paused; pausedBox.title = 'paused';
    pausedBox.onchange = () => { p.paused = pausedBox.checked; sendParticipants(); };
    paused.append(pausedBox, '⏸');
    const speaker = document.createElement('label');
    const speakerBox = document.createElement('input');
    speakerBox.type = 'radio'; speakerBox.name = 'dominant'; speakerBox.checked = p.dominant;
    speakerBox.title = 'active speaker';
    speakerBox.onchange = () => {
      participants.forEach((q) => { q.dominant = q === p; });
      sendParticipants();
    };
    speaker.append(speakerBox, '🔊');
    const remove = document.createElement('button');
    remove.textContent = '✕'; remove.title = 'remove';
    remove.onclick = () => { participants.splice(i, 1); buildParticipants(); sendParticipants(); };
    row.append(name, kind, paused, speaker, remove);
    if (p.uri) {
      // A --participant: its tile shows this input's live video.
      const source = document.createElement('span');
      source.className = 'source';
      source.textContent = `video: ${p.uri}`;
      source.title = 'real video from --participant';
      row.append(source);
    }
    list.append(row);
  });
}

$('add-participant').onclick = () => {
  const id = `p${nextId++}`;
  participants.push({ id, displayName: `Guest ${participants.length + 1}`, type: 'camera', paused: false, dominant: false });
  buildParticipants();
  sendParticipants();
};

// --- Standard sources --------------------------------------------------------------------

let messageKey = 0;
const note = (t) => { $('source-note').textContent = t; };

function sendMessage(sourceId, text) {
  const data = { key: ++messageKey, senderDisplayName: (participants && participants[0] || {}).displayName || 'Guest', text, date: new Date().toISOString() };
  post({ type: 'message', sourceId, data }).then((n) => pendingEdits.set(n, performance.now()));
  const declaredSources = ((preview.status && preview.status.interface) || {}).standardSources || [];
  note(declaredSources.includes(sourceId) ? '' : `(the composition does not declare the ${sourceId} source)`);
}

$('toast').onclick = () => {
  const key = declared('toast.key');
  if (!key) { note('(the composition declares no toast.key/toast.text params)'); return; }
  const current = (preview.status.params['toast.key'] ?? key.defaultValue ?? 0);
  setParams({ 'toast.text': $('toast-text').value, 'toast.key': Number(current) + 1 });
};
$('chat').onclick = () => sendMessage('chatMessages', $('chat-text').value);
$('transcript').onclick = () => sendMessage('transcript', $('transcript-text').value);
for (const b of $('emojis').querySelectorAll('button')) {
  b.onclick = () => {
    sendMessage('emojiReactions', b.textContent);
    const key = declared('emojiReactions.key');
    if (key) {
      const current = preview.status.params['emojiReactions.key'] ?? key.defaultValue ?? 0;
      setParams({ 'emojiReactions.emoji': b.textContent, 'emojiReactions.key': Number(current) + 1 });
    }
  };
}

// --- Timeline ----------------------------------------------------------------------------

$('play').onclick = () => post({ type: 'play', playing: !(preview.status && preview.status.playing) });
$('step').onclick = () => post({ type: 'step' });
$('go').onclick = () => post({ type: 'seek', time: Number($('seek').value) });
$('show-scene').onclick = async () => {
  const box = $('scene');
  if (!box.hidden) { box.hidden = true; return; }
  const r = await fetch('/api/scene', { cache: 'no-store' });
  box.textContent = JSON.stringify(await r.json(), null, 2);
  box.hidden = false;
};

if (transport === 'ws') readWebSocket(); else readStream();
pollState();
setInterval(pollState, 300);
setInterval(showStats, 250);
