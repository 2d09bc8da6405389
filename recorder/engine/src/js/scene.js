// vcs:scene — host nodes from the fiber tree, the layout pass (with the second pass for layout
// hooks and layout animations), and the display lists of the three strata.

import { animateFrames } from 'vcs:animate';
import { colorOf } from 'vcs:colors';
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
// Layout (daily-compat.md §1.10): pass 0 lays out every node; when a layout function asked for
// content sizes, child sizes or child stacking, the children's flow sizes are measured and a
// second full pass runs with them.

let hostState = null;
let secondPassWanted = false;

function num(v) {
  return typeof v === 'number' && isFinite(v);
}

function makeCtx(node, pass) {
  const vp = hostState.viewport;
  return {
    viewport: { x: 0, y: 0, w: vp.w, h: vp.h },
    pixelsPerGridUnit: hostState.pxPerGu,
    useIntrinsicSize: () => intrinsicSize(node),
    useContentSize: () => {
      secondPassWanted = true;
      node.usesContent = true;
      return pass === 0 || !node.content ? { w: 0, h: 0 } : { w: node.content.w, h: node.content.h };
    },
    useChildSizes: () => {
      secondPassWanted = true;
      node.usesContent = true;
      return pass === 0 || !node.childSizes ? null : node.childSizes.map((s) => Object.assign({}, s));
    },
    // Called by a container: in the second pass its children are placed one after another.
    useChildStacking: (opts) => {
      secondPassWanted = true;
      const o = opts || {};
      node.stacking = { dir: o.direction === 'x' ? 'x' : 'y', interval: num(o.interval_px) ? o.interval_px : 0 };
      return undefined;
    },
  };
}

// Daily deletes top-level params whose value is NaN, so destructuring defaults apply.
function layoutParams(p) {
  if (!p || typeof p !== 'object') return {};
  const out = Object.assign({}, p);
  for (const k of Object.keys(out)) if (typeof out[k] === 'number' && isNaN(out[k])) delete out[k];
  return out;
}

function callLayout(node, fn, params, parentFrame, pass) {
  const r = fn(parentFrame, layoutParams(params), makeCtx(node, pass));
  if (!r || typeof r !== 'object') {
    throw new TypeError(
      'layout function ' + (fn.name || '') + ' of <' + nodeName(node) + '> returned ' + r + ', not {x, y, w, h}',
    );
  }
  return r;
}

const warnedLayouts = new Set();

function layoutNode(node, parentFrame, pass) {
  const lay = node.props.layout;
  node.stacking = null;
  node.usesContent = false;
  let frame = parentFrame;
  let ct = null;
  let r = null;
  if (Array.isArray(lay) && typeof lay[0] === 'function') {
    r = callLayout(node, lay[0], lay[1], parentFrame, pass);
  } else if (typeof lay === 'function') {
    // A VCS addition: a bare function is taken as [fn, {}].
    r = callLayout(node, lay, {}, parentFrame, pass);
  } else if (lay !== undefined && lay !== null && !warnedLayouts.has(nodeName(node))) {
    warnedLayouts.add(nodeName(node));
    console.error('<' + nodeName(node) + '>: layout must be [function, params]; ignored');
  }
  if (r) {
    frame = { x: +r.x, y: +r.y, w: +r.w, h: +r.h };
    if (r.containerTransform && typeof r.containerTransform === 'object') {
      const c = r.containerTransform;
      ct = { x: +c.x || 0, y: +c.y || 0, w: +c.w || 0, h: +c.h || 0 };
    }
  }
  node.frame = frame;
  node.ct = ct;
  const kids = node.kids;
  const stack = pass === 1 ? node.stacking : null;
  let off = 0;
  for (const k of kids) {
    if (!stack) {
      layoutNode(k, frame, pass);
      continue;
    }
    const pf = stack.dir === 'x' ? { x: frame.x + off, y: frame.y, w: frame.w, h: frame.h } : { x: frame.x, y: frame.y + off, w: frame.w, h: frame.h };
    const size = k.flowSize || { w: 0, h: 0 };
    layoutNode(k, pf, pass);
    off += (stack.dir === 'x' ? size.w : size.h) + stack.interval;
  }
}

// After pass 0, bottom-up: each node's content size (the union of its children's flow frames,
// or their sum when it stacks them, with its own containerTransform subtracted so padding is
// added back) and its own flow size as its parent sees it.
function measureContent(node) {
  const f = node.frame;
  let w = 0;
  let h = 0;
  const sizes = [];
  const n = node.kids.length;
  for (const k of node.kids) {
    measureContent(k);
    const dx = k.ct ? k.ct.x : 0;
    const dy = k.ct ? k.ct.y : 0;
    const flow = { x: k.frame.x - dx - f.x, y: k.frame.y - dy - f.y, w: k.flowSize.w, h: k.flowSize.h };
    sizes.push({ x: k.frame.x, y: k.frame.y, w: flow.w, h: flow.h, id: k.props.id });
    if (node.stacking && node.stacking.dir === 'y') {
      h += flow.h;
      w = Math.max(w, flow.x + flow.w);
    } else if (node.stacking) {
      w += flow.w;
      h = Math.max(h, flow.y + flow.h);
    } else {
      w = Math.max(w, flow.x + flow.w);
      h = Math.max(h, flow.y + flow.h);
    }
  }
  if (node.stacking && n > 1) {
    if (node.stacking.dir === 'y') h += (n - 1) * node.stacking.interval;
    else w += (n - 1) * node.stacking.interval;
  }
  if (node.ct) {
    w -= node.ct.w;
    h -= node.ct.h;
  }
  node.content = { w, h };
  node.childSizes = sizes;
  if (node.type === 'Text') node.flowSize = intrinsicSize(node);
  else if (node.ct || node.usesContent || node.stacking) node.flowSize = { w, h };
  else node.flowSize = { w: f.w, h: f.h };
}

export function layoutPass(root, state) {
  hostState = state;
  const nodes = [];
  collect(root, nodes, { n: 0 });
  const vp = { x: 0, y: 0, w: hostState.viewport.w, h: hostState.viewport.h };
  const rootNode = { type: 'Root', props: {}, kids: nodes, frame: vp };
  secondPassWanted = false;
  layoutNode(rootNode, vp, 0);
  if (secondPassWanted) {
    measureContent(rootNode);
    layoutNode(rootNode, vp, 1);
  }
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

// The numeric weight our fonts are picked by (a number, a numeric string or a CSS name).
function fontWeight(w) {
  if (num(w)) return Math.min(1000, Math.max(1, Math.round(w)));
  if (typeof w === 'string') {
    const n = parseFloat(w);
    if (isFinite(n)) return Math.min(1000, Math.max(1, Math.round(n)));
    return WEIGHTS[w.toLowerCase()] || 400;
  }
  return 400;
}

// Size precedence gu > vh > px (the first truthy); none gives 1 gu. Layout measures at the
// size rounded up, drawing uses it rounded (daily-compat.md §1.3 Text).
function textPx(st) {
  let px;
  if (st.fontSize_gu) px = st.fontSize_gu * hostState.pxPerGu;
  else if (st.fontSize_vh) px = st.fontSize_vh * hostState.viewport.h;
  else if (st.fontSize_px) px = st.fontSize_px;
  else px = hostState.pxPerGu;
  px = +px;
  return num(px) && px > 0 ? px : hostState.pxPerGu;
}

function textStyle(node, forLayout) {
  const st = node.props.style && typeof node.props.style === 'object' ? node.props.style : {};
  const raw = textPx(st);
  const px = Math.max(1, forLayout ? Math.ceil(raw) : Math.round(raw));
  return {
    weight: fontWeight(st.fontWeight),
    // What the display list's font op carries: the weight and style as given.
    weightArg: st.fontWeight === undefined || st.fontWeight === null ? '' : st.fontWeight,
    styleArg: typeof st.fontStyle === 'string' ? st.fontStyle : '',
    italic: st.fontStyle === 'italic' || st.fontStyle === 'oblique',
    px,
    family: typeof st.fontFamily === 'string' && st.fontFamily ? st.fontFamily : 'Roboto',
    color: st.textColor === undefined ? '#ffffff' : colorOf(st.textColor),
    align: st.textAlign === 'center' || st.textAlign === 'right' ? st.textAlign : 'left',
    lineHeightRel: num(st.lineHeight_rel) ? st.lineHeight_rel : 0,
    strokeColor: st.strokeColor ? colorOf(st.strokeColor) : null,
    strokeWidth: parseFloat(st.strokeWidth_px) > 0 ? parseFloat(st.strokeWidth_px) : 0,
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

// Text is measured with the viewport as its box: w is the widest line rounded up (the viewport
// width when it wraps), h the height of its lines rounded up.
function intrinsicSize(node) {
  switch (node.type) {
    case 'Text': {
      const ts = textStyle(node, true);
      const lines = wrap(node.text || '', ts, hostState.viewport.w);
      let w = 0;
      for (const l of lines) w = Math.max(w, l[1]);
      if (lines.length > 1) w = hostState.viewport.w;
      return { w: Math.ceil(w), h: Math.ceil(lines.length * lineHeight(ts)) };
    }
    case 'Image': {
      const size = hostState.images[imageName(node.props.src)];
      return size ? { w: size[0], h: size[1] } : { w: 0, h: 0 };
    }
    case 'Video':
      return { w: 0, h: 0 };
    case 'Emoji':
      return { w: hostState.pxPerGu, h: hostState.pxPerGu };
    default:
      return { w: -1, h: -1 };
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing (daily-compat.md §3.2): two walks of the tree. The background walk draws the nodes
// before the first Video in tree order, the foreground walk the nodes from it on; every node is
// wrapped in save/restore (a restore right after its save removes the pair).

function imageName(src) {
  const s = String(src == null ? '' : src);
  return s && s.indexOf('.') < 0 ? s + '.png' : s;
}

function nodeName(node) {
  return node.props && node.props.id != null ? node.type + ' id="' + node.props.id + '"' : node.type;
}

class Emitter {
  constructor() {
    this.out = [];
    this.owners = [];
  }
  own(name) {
    this.owners.push(this.out.length, name);
  }
  push(...ops) {
    for (const op of ops) this.out.push(op);
  }
  save() {
    this.out.push(['save']);
  }
  restore() {
    const last = this.out[this.out.length - 1];
    if (last && last.length === 1 && last[0] === 'save') this.out.pop();
    else this.out.push(['restore']);
  }
}

function transformOps(t, f) {
  if (!t || typeof t !== 'object') return [];
  const rot = num(t.rotate_deg) ? t.rotate_deg : 0;
  let sx = num(t.scale) ? t.scale : 1;
  let sy = sx;
  if (num(t.scaleX)) sx *= t.scaleX;
  if (num(t.scaleY)) sy *= t.scaleY;
  if (Math.abs(rot) <= 0.001 && sx === 1 && sy === 1) return [];
  const cx = f.x + f.w / 2;
  const cy = f.y + f.h / 2;
  return [['translate', [cx, cy]], ['rotate', [(rot * Math.PI) / 180]], ['scale', [sx, sy]], ['translate', [-cx, -cy]]];
}

function rectArgs(f) {
  return [f.x, f.y, f.w, f.h];
}

function radiusOf(st) {
  const r = st.cornerRadius_px;
  return num(r) && r > 0 ? r : 0;
}

// Numbers the tree in order and finds the first Video; each node learns the last index in its
// subtree, so a walk knows which subtrees hold nodes of its stratum.
function numberTree(root) {
  let i = 0;
  let firstVideo = Infinity;
  const visit = (n) => {
    n.order = i++;
    if (n.type === 'Video' && firstVideo === Infinity) firstVideo = n.order;
    for (const k of n.kids) visit(k);
    n.lastInSubtree = i - 1;
  };
  for (const k of root.kids) visit(k);
  return firstVideo;
}

function opacityOf(node) {
  const b = node.props.blend && typeof node.props.blend === 'object' ? node.props.blend : null;
  let o = b && typeof b.opacity === 'number' ? b.opacity : undefined;
  if (num(node.animOpacity)) o = (o === undefined ? 1 : o) * node.animOpacity;
  return o;
}

function drawWalk(e, node, inStratum, skip) {
  if (skip(node)) return;
  const p = node.props;
  const f = node.frame;
  const st = p.style && typeof p.style === 'object' ? p.style : {};
  e.save();
  e.own(nodeName(node));
  if (node.type !== 'Video') {
    const opacity = opacityOf(node);
    if (opacity !== undefined) e.push(['globalAlpha', opacity]);
    e.push(...transformOps(p.transform, f));
    if (p.clip && node.type !== 'Emoji' && node.type !== 'Image') {
      const r = radiusOf(st);
      e.push(['beginPath'], r > 0 ? ['roundRect', rectArgs(f).concat([r, r, r, r])] : ['rect', rectArgs(f)]);
      if (r > 0) e.push(['closePath']);
      e.push(['clip', []]);
    }
    if (inStratum(node)) drawContent(e, node, f, st);
  }
  for (const k of node.kids) drawWalk(e, k, inStratum, skip);
  e.restore();
}

function drawContent(e, node, f, st) {
  const p = node.props;
  switch (node.type) {
    case 'Box':
      drawBox(e, f, st);
      break;
    case 'Text':
      drawText(e, node, f);
      break;
    case 'Image':
      drawImage(e, p, f, radiusOf(st));
      break;
    case 'Emoji':
      drawEmoji(e, p, f);
      break;
    case 'WebFrame':
      drawWebFrame(e, p, f);
      break;
    default:
      break;
  }
}

// The fill clipped to its own corner radius (children are not clipped), then the stroke inset
// by half its width with the same radius.
function drawBox(e, f, st) {
  const r = radiusOf(st);
  if (st.fillColor) {
    const fill = colorOf(st.fillColor);
    if (r > 0) {
      e.push(['save'], ['beginPath'], ['roundRect', rectArgs(f).concat([r, r, r, r])], ['closePath'], ['clip', []]);
      e.push(['fillStyle', fill], ['fillRect', rectArgs(f)], ['restore']);
    } else {
      e.push(['fillStyle', fill], ['fillRect', rectArgs(f)]);
    }
  }
  const sw = parseFloat(st.strokeWidth_px);
  if (st.strokeColor && sw > 0) {
    const h = sw / 2;
    const inset = [f.x + h, f.y + h, f.w - sw, f.h - sw];
    e.push(['strokeStyle', colorOf(st.strokeColor)], ['lineWidth', sw]);
    if (r > 0) e.push(['beginPath'], ['roundRect', inset.concat([r, r, r, r])], ['stroke']);
    else e.push(['strokeRect', inset]);
  }
}

function drawText(e, node, f) {
  const text = node.text || '';
  if (!text) return;
  const ts = textStyle(node, false);
  const lines = wrap(text, ts, f.w > 0 ? f.w : -1);
  const m = metrics(ts);
  const lh = lineHeight(ts);
  const font = ['font', [ts.weightArg, ts.styleArg, ts.px, ts.family]];
  // baseline of the first line: the glyph box centred in the line box
  const base = f.y + (lh - (m[0] + m[1])) / 2 + m[0];
  const run = (str, x, y) => {
    if (ts.strokeColor && ts.strokeWidth > 0) {
      e.push(['strokeStyle', ts.strokeColor], ['lineWidth', ts.strokeWidth], ['lineJoin', 'round'], font, ['strokeText', [str, x, y]]);
    }
    e.push(['fillStyle', ts.color], font, ['fillText', [str, x, y]]);
  };
  for (let i = 0; i < lines.length; i++) {
    const [line, width] = lines[i];
    const x0 = ts.align === 'center' ? f.x + (f.w - width) / 2 : ts.align === 'right' ? f.x + f.w - width : f.x;
    const y = Math.round(base + i * lh);
    if (!hasEmoji(line)) {
      run(line, Math.round(x0), y);
      continue;
    }
    // Emoji are drawn by fillText_emoji on the text's baseline at the font size, in the
    // advance the shaper gave them; the runs between them as text.
    let x = x0;
    for (const seg of emojiSegments(line)) {
      const w = measure(seg.text, ts);
      if (seg.emoji) e.push(['fillText_emoji', [seg.text, Math.round(x), y, ts.px, ts.px]]);
      else if (seg.text.trim()) run(seg.text, Math.round(x), y);
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

// The first emoji found anywhere in the value.
export function firstEmoji(v) {
  for (const seg of emojiSegments(String(v == null ? '' : v))) if (seg.emoji) return seg.text;
  return '';
}

const warnedEmoji = new Set();

// Daily's Emoji: white, on a baseline at 73 % of the frame height, at 83 % of its size.
function drawEmoji(e, p, f) {
  const emoji = firstEmoji(p.value);
  if (!emoji) {
    const v = String(p.value == null ? '' : p.value);
    if (v && !warnedEmoji.has(v)) {
      warnedEmoji.add(v);
      console.warn('<Emoji value="' + v + '">: no emoji in the value; nothing drawn');
    }
    return;
  }
  e.push(['fillStyle', '#ffffff'], [
    'fillText_emoji',
    [emoji, f.x, Math.round(f.y + 0.73 * f.h), Math.round(0.83 * f.w), Math.round(0.83 * f.h)],
  ]);
}

// An image the host does not have is a translucent green rect, as Daily's server draws it.
function drawImage(e, p, f, radius) {
  const name = imageName(p.src);
  const size = name ? hostState.images[name] : null;
  if (!size) {
    e.push(['fillStyle', MISSING_IMAGE], ['fillRect', rectArgs(f)]);
    return;
  }
  const src = { type: 'compositionAsset', id: name };
  const mode = p.scaleMode === undefined ? 'fit' : p.scaleMode;
  const [iw, ih] = size;
  const clipTo = (r) => {
    if (radius > 0) e.push(['beginPath'], ['roundRect', rectArgs(r).concat([radius, radius, radius, radius])], ['closePath'], ['clip', []]);
  };
  if (iw <= 0 || ih <= 0 || (mode !== 'fit' && mode !== 'fill')) {
    clipTo(f);
    e.push(['drawImage', [src, f.x, f.y, f.w, f.h]]);
    return;
  }
  const ia = iw / ih;
  const fa = f.w / f.h;
  if (mode === 'fit') {
    const w = fa > ia ? f.h * ia : f.w;
    const h = fa > ia ? f.h : f.w / ia;
    const r = { x: f.x + (f.w - w) / 2, y: f.y + (f.h - h) / 2, w, h };
    clipTo(r);
    e.push(['drawImage', [src, r.x, r.y, r.w, r.h]]);
  } else {
    const sw = fa > ia ? iw : ih * fa;
    const sh = fa > ia ? iw / fa : ih;
    clipTo(f);
    e.push(['drawImage', [src, (iw - sw) / 2, (ih - sh) / 2, sw, sh, f.x, f.y, f.w, f.h]]);
  }
}

const MISSING_IMAGE = 'rgba(0, 150, 60, 0.5)';

// The page itself would come from a browser the recorder does not run: its frame is drawn as
// the `webframe` live asset, which no host provides, so the renderer shows its missing-image
// placeholder where the page would be (vcs-api.md §2 WebFrame).
function drawWebFrame(e, p, f) {
  const vs = p.viewportSize && num(p.viewportSize.w) && num(p.viewportSize.h) ? p.viewportSize : { w: 1280, h: 720 };
  const src = { type: 'liveAsset', id: 'webframe' };
  if (p.scaleMode === 'fill' || vs.h <= 0 || f.h <= 0) {
    e.push(['drawImage', [src, f.x, f.y, f.w, f.h]]);
    return;
  }
  const ia = vs.w / vs.h;
  const fa = f.w / f.h;
  const w = fa > ia ? f.h * ia : f.w;
  const h = fa > ia ? f.h : f.w / ia;
  e.push(['drawImage', [src, f.x + (f.w - w) / 2, f.y + (f.h - h) / 2, w, h]]);
}

// ---------------------------------------------------------------------------------------------
// Video layers

function collectVideos(node, out) {
  if (node.type === 'Video') {
    const p = node.props;
    const st = p.style && typeof p.style === 'object' ? p.style : {};
    const b = p.blend && typeof p.blend === 'object' ? p.blend : null;
    let opacity = b && num(b.opacity) ? b.opacity : 1;
    if (num(node.animOpacity)) opacity *= node.animOpacity;
    opacity = Math.max(0, Math.min(1, opacity));
    const r = st.cornerRadius_px;
    const f = node.frame;
    if (opacity > 0) {
      out.push({
        src: p.src,
        frame: { x: Math.round(f.x), y: Math.round(f.y), w: Math.round(f.w), h: Math.round(f.h) },
        radius: num(r) && r >= 0.5 ? Math.round(r) : 0,
        scaleMode: p.scaleMode === 'fit' ? 'fit' : 'fill',
        zoom: num(p.zoom) && p.zoom > 0 ? p.zoom : 1,
        opacity,
        owner: nodeName(node),
      });
    }
  }
  for (const k of node.kids) collectVideos(k, out);
}

// Daily's videolayers document (§3.1): optional attrs omitted, ids as given.
function dailyLayer(v) {
  const attrs = {};
  if (v.radius > 0) attrs.cornerRadiusPx = v.radius;
  attrs.scaleMode = v.scaleMode;
  attrs.zoomFactor = v.zoom;
  if (v.opacity < 1) attrs.opacity = v.opacity;
  return { type: 'video', id: v.src, frame: v.frame, attrs };
}

// Daily's fgDisplayList (§3.2): the background with every video frame clipped out, then the
// foreground.
function dailyForeground(vs, bg, fg) {
  const vp = hostState.viewport;
  const commands = [];
  if (vs.length) {
    commands.push(['save'], ['beginPath'], ['rect', [0, 0, vp.w, vp.h]]);
    for (const v of vs) {
      const f = v.frame;
      commands.push(v.radius > 0.5 ? ['roundRect', [f.x, f.y, f.w, f.h, v.radius, v.radius, v.radius, v.radius]] : ['rect', [f.x, f.y, f.w, f.h]]);
    }
    commands.push(['clip', ['evenodd']]);
    for (const op of bg) commands.push(op);
    commands.push(['restore']);
  } else {
    for (const op of bg) commands.push(op);
  }
  for (const op of fg) commands.push(op);
  return { width: vp.w, height: vp.h, commands: commands.map(dailyWebFrame) };
}

// Daily names the web frame's live asset by its refresh key: 1 + floor(t / 0.5) (2 fps).
function dailyWebFrame(op) {
  if (op[0] !== 'drawImage' || op[1][0].type !== 'liveAsset') return op;
  const id = '__webframe#' + (1 + Math.floor(hostState.time / 0.5));
  return ['drawImage', [{ type: 'liveAsset', id }].concat(op[1].slice(1))];
}

// Returns the strata and their owners as JSON strings (and Daily's two documents when the host
// asked for them).
export function drawScene(root, state) {
  hostState = state;
  const firstVideo = numberTree(root);
  const bg = new Emitter();
  const fg = new Emitter();
  const before = (n) => n.order < firstVideo;
  // Each walk starts inside the root's own save/restore, as Daily's does.
  bg.save();
  for (const k of root.kids) drawWalk(bg, k, before, (n) => n.order >= firstVideo);
  bg.restore();
  fg.save();
  for (const k of root.kids) drawWalk(fg, k, (n) => !before(n), (n) => n.lastInSubtree < firstVideo);
  fg.restore();
  const vs = [];
  for (const k of root.kids) collectVideos(k, vs);
  const ours = vs.filter((v) => v.src !== undefined && v.src !== null && v.src !== '');
  const layers = ours.map((v) => ({
    id: String(v.src),
    frame: v.frame,
    attrs: { scaleMode: v.scaleMode, zoomFactor: v.zoom, cornerRadiusPx: v.radius, opacity: v.opacity },
  }));
  const out = {
    background: JSON.stringify(bg.out),
    videoLayers: JSON.stringify(layers),
    foreground: JSON.stringify(fg.out),
    owners: JSON.stringify([bg.owners, ours.map((v) => v.owner), fg.owners]),
  };
  if (hostState.dailyFormat) {
    out.dailyVideoLayers = JSON.stringify(vs.map(dailyLayer));
    out.dailyForeground = JSON.stringify(dailyForeground(vs, bg.out, fg.out));
  }
  return out;
}
