// vcs:scene — host nodes from the fiber tree, the layout pass (with the second pass for layout
// hooks and layout animations), and the display lists of the three strata.

import { animateFrames } from 'vcs:animate';
export { animationsActive, setLayoutAnimations } from 'vcs:animate';

// Caps on what one frame may produce (style.md: cap what untrusted input can make).
const MAX_NODES = 20000;
const MAX_TEXT = 10000;

// ---------------------------------------------------------------------------------------------
// Host nodes

function collect(f, out, counter) {
  for (const k of f.kids) {
    const t = k.type;
    if (typeof t === 'string' && t !== '#text') {
      if (++counter.n > MAX_NODES) {
        throw new RangeError(
          'the composition made more than ' + MAX_NODES + ' nodes (Box/Text/...) in one frame',
        );
      }
      let node = k.host;
      if (!node) node = k.host = { type: t, fiber: k, kids: [], frame: null, content: null };
      node.props = k.props;
      node.text = k.text;
      node.kids = [];
      collect(k, node.kids, counter);
      out.push(node);
    } else {
      collect(k, out, counter);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Layout

let hostState = null;
let secondPassWanted = false;

function num(v) {
  return typeof v === 'number' && isFinite(v);
}

function makeCtx(node, parent, siblings, index) {
  return {
    viewport: hostState.viewport,
    pixelsPerGridUnit: hostState.pxPerGu,
    useIntrinsicSize: () => intrinsicSize(node),
    useContentSize: () => {
      secondPassWanted = true;
      return node.content || { w: 0, h: 0 };
    },
    useChildSizes: () => {
      secondPassWanted = true;
      return node.childSizes || [];
    },
    useChildStacking: (opts = {}) => {
      secondPassWanted = true;
      const dir = opts.direction === 'x' ? 'w' : 'h';
      const gap = num(opts.interval_px) ? opts.interval_px : 0;
      let off = 0;
      for (let i = 0; i < index; i++) {
        const f = siblings[i].frame;
        if (f) off += f[dir] + gap;
      }
      return dir === 'w' ? { x: off, y: 0 } : { x: 0, y: off };
    },
  };
}

function layoutNode(node, parentFrame, siblings, index) {
  const lay = node.props.layout;
  let frame = parentFrame;
  let ct = null;
  if (Array.isArray(lay) && typeof lay[0] === 'function') {
    const r = lay[0](parentFrame, lay[1] || {}, makeCtx(node, parentFrame, siblings, index));
    if (!r || typeof r !== 'object') {
      throw new TypeError(
        'layout function ' + (lay[0].name || '') + ' of <' + nodeName(node) + '> returned ' + r + ', not {x, y, w, h}',
      );
    }
    frame = { x: +r.x, y: +r.y, w: +r.w, h: +r.h };
    if (r.containerTransform && typeof r.containerTransform === 'object') {
      ct = { x: +r.containerTransform.x || 0, y: +r.containerTransform.y || 0 };
    }
  } else if (typeof lay === 'function') {
    const r = lay(parentFrame, {}, makeCtx(node, parentFrame, siblings, index));
    frame = { x: +r.x, y: +r.y, w: +r.w, h: +r.h };
  }
  node.frame = frame;
  node.ct = ct;
  const kids = node.kids;
  for (let i = 0; i < kids.length; i++) layoutNode(kids[i], frame, kids, i);
}

// Union of the children's frames relative to the node's origin, without their
// containerTransform.
function measureContent(node) {
  let w = 0;
  let h = 0;
  const sizes = [];
  for (const k of node.kids) {
    measureContent(k);
    const f = k.frame;
    const dx = k.ct ? k.ct.x : 0;
    const dy = k.ct ? k.ct.y : 0;
    sizes.push({ w: f.w, h: f.h });
    w = Math.max(w, f.x - dx + f.w - node.frame.x);
    h = Math.max(h, f.y - dy + f.h - node.frame.y);
  }
  node.content = { w, h };
  node.childSizes = sizes;
}

export function layoutPass(root, state) {
  hostState = state;
  const nodes = [];
  collect(root, nodes, { n: 0 });
  const vp = { x: 0, y: 0, w: hostState.viewport.w, h: hostState.viewport.h };
  secondPassWanted = false;
  for (let i = 0; i < nodes.length; i++) layoutNode(nodes[i], vp, nodes, i);
  if (secondPassWanted) {
    for (const n of nodes) measureContent(n);
    for (let i = 0; i < nodes.length; i++) layoutNode(nodes[i], vp, nodes, i);
  }
  const rootNode = { type: 'Root', props: {}, kids: nodes, frame: vp };
  animateFrames(rootNode, hostState);
  return rootNode;
}

// ---------------------------------------------------------------------------------------------
// Text

const wrapCache = new Map();
const metricsCache = new Map();

const WEIGHTS = {
  thin: 100,
  hairline: 100,
  extralight: 200,
  'extra-light': 200,
  ultralight: 200,
  light: 300,
  normal: 400,
  regular: 400,
  medium: 500,
  semibold: 600,
  'semi-bold': 600,
  demibold: 600,
  bold: 700,
  extrabold: 800,
  'extra-bold': 800,
  ultrabold: 800,
  black: 900,
  heavy: 900,
};

function fontWeight(w) {
  if (num(w)) return Math.min(1000, Math.max(1, Math.round(w)));
  if (typeof w === 'string') {
    const n = parseFloat(w);
    if (isFinite(n)) return Math.min(1000, Math.max(1, Math.round(n)));
    return WEIGHTS[w.toLowerCase()] || 400;
  }
  return 400;
}

function textStyle(node) {
  const st = node.props.style || {};
  let px = hostState.pxPerGu;
  if (num(st.fontSize_px)) px = st.fontSize_px;
  else if (num(st.fontSize_gu)) px = st.fontSize_gu * hostState.pxPerGu;
  else if (num(st.fontSize_vh)) px = st.fontSize_vh * hostState.viewport.h;
  return {
    weight: fontWeight(st.fontWeight),
    italic: st.fontStyle === 'italic' || st.fontStyle === 'oblique',
    px: px > 0 ? px : 1,
    family: typeof st.fontFamily === 'string' && st.fontFamily ? st.fontFamily : 'Roboto',
    color: color(st.textColor, 'white'),
    align: st.textAlign === 'center' || st.textAlign === 'right' ? st.textAlign : 'left',
    lineHeightRel: num(st.lineHeight_rel) ? st.lineHeight_rel : 0,
    strokeColor: color(st.strokeColor, null),
    strokeWidth: num(st.strokeWidth_px) ? st.strokeWidth_px : 0,
  };
}

function metrics(ts) {
  const key = ts.weight + '|' + ts.italic + '|' + ts.px + '|' + ts.family;
  let m = metricsCache.get(key);
  if (!m) {
    m = hostState.host.metrics(ts.weight, ts.italic, ts.px, ts.family);
    metricsCache.set(key, m);
  }
  return m;
}

function wrap(text, ts, maxW) {
  if (text.length > MAX_TEXT) {
    throw new RangeError('text of ' + text.length + ' characters exceeds the cap of ' + MAX_TEXT);
  }
  const key = ts.weight + '|' + ts.italic + '|' + ts.px + '|' + ts.family + '|' + maxW + '|' + text;
  let lines = wrapCache.get(key);
  if (!lines) {
    if (wrapCache.size > 4000) wrapCache.clear();
    lines = hostState.host.wrap(text, ts.weight, ts.italic, ts.px, ts.family, maxW);
    wrapCache.set(key, lines);
  }
  return lines;
}

function lineHeight(ts) {
  const m = metrics(ts);
  return ts.lineHeightRel > 0 ? ts.px * ts.lineHeightRel : m[2];
}

function intrinsicSize(node) {
  switch (node.type) {
    case 'Text': {
      const ts = textStyle(node);
      const lines = wrap(node.text || '', ts, hostState.viewport.w);
      let w = 0;
      for (const l of lines) w = Math.max(w, l[1]);
      return { w, h: lines.length * lineHeight(ts) };
    }
    case 'Image': {
      const size = hostState.images[imageName(node.props.src)];
      return size ? { w: size[0], h: size[1] } : { w: -1, h: -1 };
    }
    case 'Emoji':
      return { w: hostState.pxPerGu, h: hostState.pxPerGu };
    default:
      return { w: -1, h: -1 };
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing

function color(c, dflt) {
  if (typeof c === 'string' && c) return c;
  if (Array.isArray(c) && c.length >= 3) {
    const ch = (v) => Math.max(0, Math.min(255, Math.round(+v || 0)));
    const a = c.length > 3 ? Math.max(0, Math.min(1, +c[3])) : 1;
    return 'rgba(' + ch(c[0]) + ',' + ch(c[1]) + ',' + ch(c[2]) + ',' + a + ')';
  }
  return dflt;
}

function imageName(src) {
  const s = String(src == null ? '' : src);
  return /\.[A-Za-z0-9]+$/.test(s) ? s : s + '.png';
}

function nodeName(node) {
  return node.props && node.props.id != null ? node.type + ' id="' + node.props.id + '"' : node.type;
}

function firstEmoji(v) {
  const chars = Array.from(String(v == null ? '' : v));
  if (!chars.length) return '';
  let out = chars[0];
  for (let i = 1; i < chars.length; i++) {
    const cp = chars[i].codePointAt(0);
    const joiner = cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1f3fb && cp <= 0x1f3ff) ||
      (cp >= 0xe0020 && cp <= 0xe007f) || (cp >= 0x1f1e6 && cp <= 0x1f1ff && i === 1);
    const prevJoin = chars[i - 1].codePointAt(0) === 0x200d;
    if (!joiner && !prevJoin) break;
    out += chars[i];
  }
  return out;
}

// Emits the three strata. Everything before the first Video in tree order is background,
// each Video is a layer, everything after is foreground. When the first Video sits inside
// transformed/clipped ancestors, their state is closed in the background and replayed in
// the foreground so both lists stay balanced.
class Emitter {
  constructor() {
    this.bg = [];
    this.fg = [];
    this.cur = this.bg;
    this.videos = [];
    this.owners = [[], []];
    this.stack = [];
  }
  own(name) {
    const s = this.cur === this.bg ? 0 : 1;
    this.owners[s].push(this.cur.length, name);
  }
  open(stateOps) {
    this.cur.push(['save']);
    for (const op of stateOps) this.cur.push(op);
    this.stack.push(stateOps);
  }
  close() {
    this.cur.push(['restore']);
    this.stack.pop();
  }
  toForeground() {
    if (this.cur === this.fg) return;
    for (let i = 0; i < this.stack.length; i++) this.bg.push(['restore']);
    this.cur = this.fg;
    for (const ops of this.stack) {
      this.fg.push(['save']);
      for (const op of ops) this.fg.push(op);
    }
  }
}

function transformOps(t, f) {
  if (!t || typeof t !== 'object') return [];
  const rot = num(t.rotate_deg) ? t.rotate_deg : 0;
  let sx = num(t.scale) ? t.scale : 1;
  let sy = sx;
  if (num(t.scaleX)) sx *= t.scaleX;
  if (num(t.scaleY)) sy *= t.scaleY;
  if (rot === 0 && sx === 1 && sy === 1) return [];
  const cx = f.x + f.w / 2;
  const cy = f.y + f.h / 2;
  const ops = [['translate', [cx, cy]]];
  if (rot !== 0) ops.push(['rotate', [(rot * Math.PI) / 180]]);
  if (sx !== 1 || sy !== 1) ops.push(['scale', [sx, sy]]);
  ops.push(['translate', [-cx, -cy]]);
  return ops;
}

function rectArgs(f) {
  return [f.x, f.y, f.w, f.h];
}

function drawNode(e, node, alpha) {
  const p = node.props;
  const blend = p.blend && typeof p.blend === 'object' ? p.blend : null;
  let opacity = blend && num(blend.opacity) ? blend.opacity : 1;
  if (num(node.animOpacity)) opacity *= node.animOpacity;
  if (opacity <= 0) return;
  const a = alpha * opacity;
  const f = node.frame;
  const st = p.style && typeof p.style === 'object' ? p.style : {};
  const radius = num(st.cornerRadius_px) && st.cornerRadius_px > 0 ? st.cornerRadius_px : 0;

  if (node.type === 'Video') {
    e.toForeground();
    if (p.src === undefined || p.src === null || p.src === '') return;
    const fill = p.scaleMode !== 'fit';
    const x = Math.round(f.x);
    const y = Math.round(f.y);
    e.videos.push({
      id: String(p.src),
      frame: { x, y, w: Math.round(f.x + f.w) - x, h: Math.round(f.y + f.h) - y },
      attrs: {
        scaleMode: fill ? 'fill' : 'fit',
        // Zoom and opacity are clamped where the scene is validated (vcs-scene `Zoom`, `Opacity`).
        zoomFactor: fill && num(p.zoom) ? p.zoom : 1,
        cornerRadiusPx: radius,
        opacity: a,
      },
      owner: nodeName(node),
    });
    return;
  }

  const state = transformOps(p.transform, f);
  if (a !== alpha) state.push(['globalAlpha', a]);
  if (p.clip) {
    state.push(['beginPath']);
    state.push(radius > 0 ? ['roundRect', rectArgs(f).concat([radius, radius, radius, radius])] : ['rect', rectArgs(f)]);
    state.push(['clip', []]);
  }
  e.open(state);
  e.own(nodeName(node));
  switch (node.type) {
    case 'Box':
      drawBox(e, f, st, radius);
      break;
    case 'Text':
      drawText(e, node, f);
      break;
    case 'Image':
      drawImage(e, p, f, radius);
      break;
    case 'Emoji': {
      const s = Math.min(f.w, f.h);
      e.cur.push(['fillText_emoji', [firstEmoji(p.value), f.x + (f.w - s) / 2, f.y + (f.h - s) / 2, s, s]]);
      break;
    }
    case 'WebFrame':
      drawWebFrame(e, p, f);
      break;
    default:
      break;
  }
  for (const k of node.kids) drawNode(e, k, a);
  e.close();
}

function drawBox(e, f, st, radius) {
  const out = e.cur;
  const fill = color(st.fillColor, null);
  const stroke = color(st.strokeColor, null);
  const sw = num(st.strokeWidth_px) ? st.strokeWidth_px : 0;
  if (radius > 0 && (fill || (stroke && sw > 0))) {
    // cornerRadius clips the box's content (fill and children) to the rounded rect
    out.push(['beginPath'], ['roundRect', rectArgs(f).concat([radius, radius, radius, radius])], ['clip', []]);
  }
  if (fill) out.push(['fillStyle', fill], ['fillRect', rectArgs(f)]);
  if (stroke && sw > 0) {
    const h = sw / 2;
    out.push(['strokeStyle', stroke], ['lineWidth', sw]);
    if (radius > 0) {
      const r = Math.max(0, radius - h);
      out.push(['beginPath'], ['roundRect', [f.x + h, f.y + h, f.w - sw, f.h - sw, r, r, r, r]], ['stroke']);
    } else {
      out.push(['strokeRect', [f.x + h, f.y + h, f.w - sw, f.h - sw]]);
    }
  }
}

function drawText(e, node, f) {
  const text = node.text || '';
  if (!text) return;
  const ts = textStyle(node);
  const out = e.cur;
  const lines = wrap(text, ts, f.w > 0 ? f.w : -1);
  const m = metrics(ts);
  const lh = lineHeight(ts);
  // baseline of the first line: the glyph box centred in the line box, as CSS does
  const base = f.y + (lh - (m[0] + m[1])) / 2 + m[0];
  out.push(['font', [String(ts.weight), ts.italic ? 'italic' : '', ts.px, ts.family]]);
  const xs = lines.map((l) => (ts.align === 'center' ? f.x + (f.w - l[1]) / 2 : ts.align === 'right' ? f.x + f.w - l[1] : f.x));
  if (ts.strokeColor && ts.strokeWidth > 0) {
    out.push(['strokeStyle', ts.strokeColor], ['lineWidth', ts.strokeWidth], ['lineJoin', 'round']);
    for (let i = 0; i < lines.length; i++) out.push(['strokeText', [lines[i][0], xs[i], base + i * lh]]);
  }
  out.push(['fillStyle', ts.color]);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i][0];
    const y = base + i * lh;
    if (!hasEmoji(line)) {
      out.push(['fillText', [line, xs[i], y]]);
      continue;
    }
    // Emoji are drawn as squares (fillText_emoji) in the advance the shaper gave them; the
    // runs between them as text.
    let x = xs[i];
    const side = ts.px;
    const top = y - m[0] + (m[0] + m[1] - side) / 2;
    for (const seg of emojiSegments(line)) {
      const w = measure(seg.text, ts);
      if (seg.emoji) out.push(['fillText_emoji', [seg.text, x + (w - side) / 2, top, side, side]]);
      else if (seg.text.trim()) out.push(['fillText', [seg.text, x, y]]);
      x += w;
    }
  }
}

const measureCache = new Map();
function measure(text, ts) {
  const key = ts.weight + '|' + ts.italic + '|' + ts.px + '|' + ts.family + '|' + text;
  let w = measureCache.get(key);
  if (w === undefined) {
    if (measureCache.size > 4000) measureCache.clear();
    w = hostState.host.measure(text, ts.weight, ts.italic, ts.px, ts.family);
    measureCache.set(key, w);
  }
  return w;
}

function isEmojiBase(cp) {
  return (
    (cp >= 0x1f000 && cp <= 0x1faff) ||
    (cp >= 0x2600 && cp <= 0x27bf) ||
    (cp >= 0x2b00 && cp <= 0x2bff) ||
    (cp >= 0x1f1e6 && cp <= 0x1f1ff) ||
    cp === 0x2764 ||
    cp === 0x203c ||
    cp === 0x2049
  );
}

function isEmojiJoiner(cp) {
  return cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0xe0020 && cp <= 0xe007f) || cp === 0x20e3;
}

function hasEmoji(s) {
  for (const ch of s) if (isEmojiBase(ch.codePointAt(0))) return true;
  return false;
}

// Splits a line into text runs and emoji clusters (base + modifiers/ZWJ sequences/flags).
export function emojiSegments(s) {
  const out = [];
  const chars = Array.from(s);
  let text = '';
  for (let i = 0; i < chars.length; i++) {
    const cp = chars[i].codePointAt(0);
    if (!isEmojiBase(cp)) {
      text += chars[i];
      continue;
    }
    if (text) out.push({ text, emoji: false });
    text = '';
    let e = chars[i];
    const flag = cp >= 0x1f1e6 && cp <= 0x1f1ff;
    while (i + 1 < chars.length) {
      const next = chars[i + 1].codePointAt(0);
      const prevZwj = e.endsWith('\u200d');
      if (isEmojiJoiner(next) || (prevZwj && isEmojiBase(next)) || (flag && e.length === 2 && next >= 0x1f1e6 && next <= 0x1f1ff)) {
        e += chars[++i];
      } else break;
    }
    out.push({ text: e, emoji: true });
  }
  if (text) out.push({ text, emoji: false });
  return out;
}

function drawImage(e, p, f, radius) {
  const name = imageName(p.src);
  const src = { type: 'compositionAsset', id: name };
  const size = hostState.images[name];
  const out = e.cur;
  if (radius > 0) {
    out.push(['beginPath'], ['roundRect', rectArgs(f).concat([radius, radius, radius, radius])], ['clip', []]);
  }
  const mode = p.scaleMode === undefined ? 'fit' : p.scaleMode;
  if (!size || size[0] <= 0 || size[1] <= 0 || (mode !== 'fit' && mode !== 'fill')) {
    out.push(['drawImage', [src, f.x, f.y, f.w, f.h]]);
    return;
  }
  const [iw, ih] = size;
  const ia = iw / ih;
  const fa = f.w / f.h;
  if (mode === 'fit') {
    const w = fa > ia ? f.h * ia : f.w;
    const h = fa > ia ? f.h : f.w / ia;
    out.push(['drawImage', [src, f.x + (f.w - w) / 2, f.y + (f.h - h) / 2, w, h]]);
  } else {
    const sw = fa > ia ? iw : ih * fa;
    const sh = fa > ia ? iw / fa : ih;
    out.push(['drawImage', [src, (iw - sw) / 2, (ih - sh) / 2, sw, sh, f.x, f.y, f.w, f.h]]);
  }
}

// The page itself would come from a browser the recorder does not run yet: its frame is drawn
// as the `webframe` live asset, which no host provides, so the renderer shows its
// missing-image placeholder where the page would be (vcs-api.md §2 WebFrame).
function drawWebFrame(e, p, f) {
  const vs = p.viewportSize && num(p.viewportSize.w) && num(p.viewportSize.h) ? p.viewportSize : { w: 1280, h: 720 };
  const src = { type: 'liveAsset', id: 'webframe' };
  if (p.scaleMode === 'fill' || vs.h <= 0 || f.h <= 0) {
    e.cur.push(['drawImage', [src, f.x, f.y, f.w, f.h]]);
    return;
  }
  const ia = vs.w / vs.h;
  const fa = f.w / f.h;
  const w = fa > ia ? f.h * ia : f.w;
  const h = fa > ia ? f.h : f.w / ia;
  e.cur.push(['drawImage', [src, f.x + (f.w - w) / 2, f.y + (f.h - h) / 2, w, h]]);
}

// Returns the strata and their owners as JSON strings.
export function drawScene(root, state) {
  hostState = state;
  const e = new Emitter();
  for (const k of root.kids) drawNode(e, k, 1);
  const vl = e.videos.filter((v) => v.attrs.opacity > 0);
  const owners = [e.owners[0], vl.map((v) => v.owner), e.owners[1]];
  for (const v of vl) delete v.owner;
  return {
    background: JSON.stringify(e.bg),
    videoLayers: JSON.stringify(vl),
    foreground: JSON.stringify(e.fg),
    owners: JSON.stringify(owners),
  };
}
