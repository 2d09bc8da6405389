// vcs:runtime — the VCS host side in JS: host inputs and their hooks/contexts, the host
// components, and the per-frame entry point (the layout pass and the emitter are vcs:scene).

import * as R from 'vcs:react';
import { layoutPass, drawScene, animationsActive, setLayoutAnimations } from 'vcs:scene';

const HOST = globalThis.__vcs_host;
delete globalThis.__vcs_host;

// ---------------------------------------------------------------------------------------------
// Host state

export const hostState = {
  time: 0,
  frame: 0,
  fps: 30,
  viewport: { w: 1280, h: 720 },
  pxPerGu: 20,
  params: {},
  paramsView: {},
  // The slots exactly as the host sent them (what MediaInputContext and useActiveVideo see).
  rawSlots: [],
  media: null,
  playback: 'playing',
  sources: {
    chatMessages: { enabled: false, latest: [] },
    transcript: { enabled: false, latest: [] },
    emojiReactions: { enabled: false, latest: [] },
  },
  peers: [],
  images: {},
  host: HOST,
  rootElement: null,
};

// Every id maps to its value; an id with a dot also fills an object named after the part before
// the first dot, keyed by the rest ('a.b.c' -> params.a['b.c']), as Daily's useParams does.
function setParam(view, id, value) {
  view[id] = value;
  const dot = id.indexOf('.');
  if (dot > 0) {
    const group = id.slice(0, dot);
    if (view[group] === null || typeof view[group] !== 'object') view[group] = {};
    view[group][id.slice(dot + 1)] = value;
  }
}

function rebuildParamsView() {
  const view = {};
  for (const id of Object.keys(hostState.params)) setParam(view, id, hostState.params[id]);
  hostState.paramsView = view;
}

function mediaValue() {
  if (!hostState.media) {
    hostState.media = {
      viewportSize: hostState.viewport,
      pixelsPerGridUnit: hostState.pxPerGu,
      activeVideoInputSlots: hostState.rawSlots,
    };
  }
  return hostState.media;
}

const MAX_SOURCE_MESSAGES = 20;

function pruneSources() {
  const now = hostState.time;
  let changed = false;
  for (const id of Object.keys(hostState.sources)) {
    const src = hostState.sources[id];
    if (src.latest.length === 0) continue;
    const ttl = id === 'emojiReactions' ? 1 : 60;
    const keep = src.latest.filter((m, i) => {
      const age = now - m._t;
      if (id === 'emojiReactions') return age < ttl;
      return age < ttl || src.latest.length - i <= MAX_SOURCE_MESSAGES;
    });
    if (keep.length !== src.latest.length) {
      hostState.sources[id] = { enabled: src.enabled, latest: keep };
      changed = true;
    }
  }
  return changed;
}

// Applies the changes collected by the host since the last frame, all together.
function applyChanges(c) {
  if (c.viewport) {
    hostState.viewport = { w: c.viewport.w, h: c.viewport.h };
    hostState.pxPerGu = Math.min(hostState.viewport.w, hostState.viewport.h) / 36;
    hostState.media = null;
    R.notifyChannel('viewport');
    R.notifyChannel('media');
  }
  if (c.fps) hostState.fps = c.fps;
  if (c.images) hostState.images = c.images;
  if (c.params) {
    const p = Object.assign({}, hostState.params);
    for (const id of Object.keys(c.params)) p[id] = c.params[id];
    hostState.params = p;
    rebuildParamsView();
    R.notifyChannel('params');
  }
  if (c.dailyFormat !== undefined) hostState.dailyFormat = !!c.dailyFormat;
  if (c.slots) {
    hostState.rawSlots = Array.isArray(c.slots) ? c.slots : [];
    hostState.media = null;
    R.notifyChannel('media');
  }
  if (c.playback && c.playback !== hostState.playback) {
    hostState.playback = c.playback;
    R.notifyChannel('playback');
  }
  if (c.peers) {
    hostState.peers = c.peers;
    R.notifyChannel('peers');
  }
  if (c.messages) {
    for (const { sourceId, data } of c.messages) {
      const src = hostState.sources[sourceId];
      if (!src || !data) continue;
      const msg = Object.assign({}, data, { _t: hostState.time });
      hostState.sources[sourceId] = { enabled: true, latest: src.latest.concat([msg]) };
    }
    R.notifyChannel('sources');
  }
  if (c.enableSources) {
    for (const id of c.enableSources) {
      if (hostState.sources[id]) hostState.sources[id] = { enabled: true, latest: hostState.sources[id].latest };
    }
    R.notifyChannel('sources');
  }
}

// ---------------------------------------------------------------------------------------------
// The per-frame entry point, called by Rust.

let lastScene = null;
let layoutDirty = true;
const MAX_PASSES = 25;

export function init(rootComponent, iface, animations) {
  if (typeof rootComponent !== 'function' && !(rootComponent && typeof rootComponent === 'object')) {
    throw new TypeError('the composition must export a default component (export default function ...)');
  }
  const params = {};
  const list = iface && Array.isArray(iface.params) ? iface.params : [];
  for (const p of list) {
    if (p && typeof p.id === 'string' && p.defaultValue !== undefined) params[p.id] = p.defaultValue;
  }
  hostState.params = params;
  rebuildParamsView();
  if (iface && Array.isArray(iface.standardSources)) {
    for (const id of iface.standardSources) {
      if (hostState.sources[id]) hostState.sources[id] = { enabled: true, latest: [] };
    }
  }
  setLayoutAnimations(Array.isArray(animations) ? animations : []);
  hostState.rootElement = R.createElement(rootComponent, null);
  R.mountRoot(hostState.rootElement);
  let iface_json = null;
  try {
    iface_json = JSON.parse(JSON.stringify(iface === undefined ? null : iface));
  } catch {
    iface_json = null;
  }
  return JSON.stringify({ defaults: params, interface: iface_json });
}

// Renders the frame at `time` after applying `changes` (a JSON string or null). Returns
// {timeSensitive, background, videoLayers, foreground, owners} with the strata as JSON strings,
// or only {timeSensitive} when the scene did not change (read in Rust as `FrameOut`).
export function frame(time, changes) {
  // Changes arrive with the new time (vcs-api.md §5), so messages are stamped with this frame's
  // time. The host skips JS on frames where nothing changed, so hostState.time may be many frames old.
  const timeChanged = time !== hostState.time;
  hostState.time = time;
  if (changes) {
    applyChanges(JSON.parse(changes));
    layoutDirty = true;
  }
  if (timeChanged) {
    R.notifyChannel('time');
    if (pruneSources()) R.notifyChannel('sources');
  }
  for (let i = 0; R.hasPendingWork(); i++) {
    if (i === MAX_PASSES) {
      throw new Error(
        'Maximum update depth exceeded: components kept updating state from effects ' + MAX_PASSES + ' times in one frame',
      );
    }
    R.renderPass();
  }
  const animating = animationsActive();
  // Re-renders that leave every host element as it was (same props, same text) keep the scene.
  const hostChanged = R.takeHostChanged();
  if (hostChanged || animating || layoutDirty || !lastScene) {
    layoutDirty = false;
    const tree = layoutPass(R.rootFiber(), hostState);
    lastScene = drawScene(tree, hostState);
    hostState.frame++;
    return { timeSensitive: timeSensitive(), ...lastScene };
  }
  hostState.frame++;
  return { timeSensitive: timeSensitive() };
}

function timeSensitive() {
  return Boolean(
    R.channelHasSubscribers('time') ||
    R.hasPendingWork() ||
    animationsActive() ||
    hasExpiringMessages()
  );
}

function hasExpiringMessages() {
  for (const id of Object.keys(hostState.sources)) if (hostState.sources[id].latest.length) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Contexts and hooks (#vcs-react/contexts, #vcs-react/hooks)

export const RenderingEnvironmentType = Object.freeze({
  UNKNOWN: '',
  OFFLINE: 'offline',
  MEDIA_SERVER: 'media-server',
  PARTICIPANT_CLIENT: 'participant-client',
  PASSIVE_VIEWER_CLIENT: 'passive-viewer-client',
});
export const RenderEngineType = Object.freeze({ UNKNOWN: '', LEGACY_GST: 'legacy-gst', VCSRENDER: 'vcsrender' });
export const PlaybackStateType = Object.freeze({ PLAYING: 'playing', POSTROLL: 'postroll' });

export const CompositionDataContext = R.createHostContext('params', () => ({
  params: hostState.paramsView,
  standardSources: hostState.sources,
  compositionId: 'vcs',
}));
export const TimeContext = R.createHostContext('time', () => ({
  currentTime: hostState.time,
  time: hostState.time,
  frame: hostState.frame,
  playbackState: hostState.playback,
}));
export const MediaInputContext = R.createHostContext('media', mediaValue);
export const RoomContext = R.createHostContext('peers', () => ({
  // The recorder renders on a server, drawing display lists as Daily's vcsrender does.
  renderingEnvironment: RenderingEnvironmentType.MEDIA_SERVER,
  renderEngine: RenderEngineType.VCSRENDER,
  availablePeers: hostState.peers,
}));
export const ViewportContext = R.createHostContext('viewport', () => hostState.viewport);

function hostHook(name, channel) {
  const f = R.currentFiber();
  R.subscribe(f, channel);
  return f;
}

export function useParams() {
  hostHook('useParams', 'params');
  return hostState.paramsView;
}

export function useVideoTime() {
  hostHook('useVideoTime', 'time');
  return hostState.time;
}

export function useVideoPlaybackState() {
  hostHook('useVideoPlaybackState', 'playback');
  return hostState.playback;
}

export function useMediaInput() {
  hostHook('useMediaInput', 'media');
  return mediaValue();
}

export function useViewportSize() {
  hostHook('useViewportSize', 'viewport');
  return hostState.viewport;
}

export function useGrid() {
  hostHook('useGrid', 'viewport');
  return { pixelsPerGridUnit: hostState.pxPerGu };
}

// Pure: Daily's active-video view of a slot list (daily-compat.md §1.4 useActiveVideo). Falsy
// slots are skipped; a slot's id is its `id`, else its index. Cameras beyond `maxCamStreams`
// (0 means 25) are dropped, except that a dominant one replaces the last entry. The dominant id
// is the first non-omitted slot marked dominant, of any type.
export function activeVideo(slots, opts = {}) {
  const maxCam = opts.maxCamStreams || 25;
  const displayNamesById = {};
  const pausedById = {};
  const frameSizesById = {};
  let dominantId = null;
  const list = [];
  const screens = [];
  let cams = 0;
  slots.forEach((s, i) => {
    if (!s) return;
    const id = s.id !== undefined ? s.id : i;
    displayNamesById[id] = s.displayName;
    pausedById[id] = s.paused;
    frameSizesById[id] = s.frameSize || { w: 0, h: 0 };
    if (opts.omitPaused && s.paused) return;
    if (s.dominant && dominantId === null) dominantId = id;
    if (s.type === 'screenshare') {
      if (opts.omitExtraScreenshares && screens.length > 0) return;
      screens.push(id);
      list.push(id);
    } else if (cams < maxCam) {
      cams++;
      list.push(id);
    } else if (s.dominant) {
      list.pop();
      list.push(id);
    }
  });
  const activeIds = opts.preferScreenshare
    ? list.filter((id) => screens.includes(id)).concat(list.filter((id) => !screens.includes(id)))
    : list;
  return {
    activeIds,
    activeScreenshareIds: screens,
    dominantId,
    displayNamesById,
    pausedById,
    frameSizesById,
    maxSimultaneousVideoInputs: slots.length,
  };
}

export function useActiveVideo(opts) {
  hostHook('useActiveVideo', 'media');
  const o = opts || {};
  const key = hostState.rawSlots;
  return R.useMemo(
    () => activeVideo(hostState.rawSlots, o),
    [key, o.maxCamStreams, o.preferScreenshare, o.omitPaused, o.omitExtraScreenshares],
  );
}

export function useStandardSources() {
  hostHook('useStandardSources', 'sources');
  return hostState.sources;
}

function track(p, kind) {
  return kind === 'audio' ? p.audio : kind === 'screenshare' ? p.screenshareVideo : p.video;
}

function hasTrackId(p, kind) {
  const t = track(p, kind);
  return !!t && t.id !== undefined && t.id !== null;
}

// Peers with an audio track id and neither a video nor a screenshare id (paused flags do not
// matter).
export function useAudioOnlyPeers() {
  hostHook('useAudioOnlyPeers', 'peers');
  return hostState.peers.filter((p) => hasTrackId(p, 'audio') && !hasTrackId(p, 'video') && !hasTrackId(p, 'screenshare'));
}

// Peers with any allowed track that has a truthy id and is not paused.
export function useUnpausedPeers(filter) {
  hostHook('useUnpausedPeers', 'peers');
  const kinds = Array.isArray(filter)
    ? filter
    : typeof filter === 'string'
      ? filter.split(',').map((s) => s.trim()).filter(Boolean)
      : ['video', 'screenshare', 'audio'];
  return hostState.peers.filter((p) =>
    kinds.some((k) => {
      const t = track(p, k);
      return !!t && !!t.id && !t.paused;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Components (#vcs-react/components): host element types.

export const Box = 'Box';
export const Text = 'Text';
export const Image = 'Image';
export const Video = 'Video';
export const Emoji = 'Emoji';
export const WebFrame = 'WebFrame';

// console.* → tracing through the host.
function fmt(args) {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return a.name + ': ' + a.message;
      try {
        return JSON.stringify(a);
      } catch {
        return String(a);
      }
    })
    .join(' ');
}
const logAt = (level) => (...a) => HOST.log(level, fmt(a), new Error().stack);
globalThis.console = {
  log: logAt('info'),
  info: logAt('info'),
  debug: logAt('debug'),
  warn: logAt('warn'),
  error: logAt('error'),
  trace: logAt('debug'),
};

// The composition's clock is the video time, never the machine's: Date reads it, and
// Math.random is seeded so a recording renders the same every time.
{
  const RealDate = Date;
  const nowMs = () => Math.round(hostState.time * 1000);
  function VcsDate(...args) {
    if (!new.target) return new RealDate(nowMs()).toString();
    return args.length ? new RealDate(...args) : new RealDate(nowMs());
  }
  VcsDate.prototype = RealDate.prototype;
  VcsDate.now = nowMs;
  VcsDate.parse = RealDate.parse;
  VcsDate.UTC = RealDate.UTC;
  globalThis.Date = VcsDate;
  // `new Date().constructor` must not lead back to the machine's clock either.
  Object.defineProperty(RealDate.prototype, 'constructor', { value: VcsDate, writable: false, configurable: false });
  // Temporal.Now reads the machine's clock; compositions have Date.
  if (typeof Temporal !== 'undefined') delete globalThis.Temporal;
  let seed = 0x2545f491;
  Math.random = function random() {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  globalThis.React = R;

  // The guard the transpiler puts into every loop and function of composition code: every
  // 64th call asks the host whether the frame is over its budget or memory cap (the host
  // then unwinds the frame with an error JS cannot catch).
  let ticks = 0;
  const check = HOST.check;
  Object.defineProperty(globalThis, '__vcs_tick', {
    value: function __vcs_tick() {
      if (++ticks < 64) return;
      ticks = 0;
      check();
    },
    writable: false,
    configurable: false,
    enumerable: false,
  });

  // Code built from strings at run time would escape the guard: every constructor that compiles
  // strings is refused, however it is reached (`Function`, `fn.constructor`, and the generator
  // and async function constructors, which are reachable only through their prototypes).
  const refuse = function Function() {
    throw new EvalError('building code from strings (eval, new Function and the generator/async function constructors) is not allowed in compositions');
  };
  refuse.prototype = Function.prototype;
  Object.defineProperty(Function.prototype, 'constructor', { value: refuse, writable: false, configurable: false });
  for (const f of [function* g() {}, async function a() {}, async function* ag() {}]) {
    Object.defineProperty(Object.getPrototypeOf(f), 'constructor', { value: refuse, writable: false, configurable: false });
  }
  globalThis.Function = refuse;
  globalThis.eval = function refusedEval() {
    return refuse();
  };
}

// After a frame was unwound by an error (possibly one JS could not catch), bring the runtime
// back to a consistent state: every component renders afresh next frame.
export function recover() {
  R.recover();
  // A frame unwound mid-render may have left the host tree half updated: lay it out afresh.
  layoutDirty = true;
}
