// vcs:animate — layout animations (vcs-api.md §6).
//
// Layout produces each node's target frame; this pass turns targets into shown frames. A node
// takes part when its `animationId` (or `id`) matches an entry of the composition's
// `layoutAnimations`. When its target changes and the entry's predicate accepts the change,
// the shown frame moves from where it was to the new target over `duration` seconds (after
// `delay`) along the easing. Descendants follow their animated ancestor (their frames are
// mapped from the ancestor's target to its shown frame). Opacity fades on appear and
// disappear multiply into the node's opacity; a node that disappears with a disappear fade is
// kept, at its last frame, in its parent until it has faded.

let specs = new Map();
const states = new Map();
let active = false;
let frameNo = 0;

export function setLayoutAnimations(list) {
  specs = new Map();
  for (const a of list) {
    if (a && a.animationId !== undefined && a.animationId !== null) specs.set(String(a.animationId), a);
  }
  states.clear();
}

export function animationsActive() {
  return active;
}

const NAMED = {
  linear: null,
  ease: [0.25, 0.1, 0.25, 1],
  'ease-in': [0.42, 0, 1, 1],
  'ease-out': [0, 0, 0.58, 1],
  'ease-in-out': [0.42, 0, 0.58, 1],
};

function cubicBezier(x1, y1, x2, y2, t) {
  // solve x(s) = t for s by Newton then bisection, return y(s)
  const bx = (s) => 3 * (1 - s) * (1 - s) * s * x1 + 3 * (1 - s) * s * s * x2 + s * s * s;
  const by = (s) => 3 * (1 - s) * (1 - s) * s * y1 + 3 * (1 - s) * s * s * y2 + s * s * s;
  let lo = 0;
  let hi = 1;
  let s = t;
  for (let i = 0; i < 30; i++) {
    const x = bx(s);
    if (Math.abs(x - t) < 1e-6) break;
    if (x < t) lo = s;
    else hi = s;
    s = (lo + hi) / 2;
  }
  return by(s);
}

// Eased progress for t in [0, 1].
export function ease(fn, t) {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  if (fn === 'hold') return 0;
  if (Array.isArray(fn) && fn[0] === 'cubic' && fn.length === 5) {
    return cubicBezier(+fn[1], +fn[2], +fn[3], +fn[4], t);
  }
  const c = NAMED[fn === undefined ? 'ease' : fn];
  return c ? cubicBezier(c[0], c[1], c[2], c[3], t) : t;
}

function zero(f) {
  return !f || f.w <= 0 || f.h <= 0;
}

function changed(a, b, props) {
  for (const p of props) if (a[p] !== b[p]) return true;
  return false;
}

// Whether a frame change from `from` to `to` starts an animation (daily-compat.md §1.11).
// `present` fires only when presence toggles, so it never animates a frame; an unknown
// predicate never fires.
export function predicateAccepts(pred, from, to) {
  switch (pred === undefined ? 'frame-change-non-zero' : pred) {
    case 'frame-change-any':
      return true;
    case 'frame-non-zero':
      return zero(from) !== zero(to);
    case 'frame-change-to-zero':
      return !zero(from) && zero(to);
    case 'frame-change-non-zero':
      return !zero(from) && !zero(to);
    default:
      return false;
  }
}

function seconds(v, d) {
  return typeof v === 'number' && isFinite(v) && v >= 0 ? v : d;
}

function lerpFrame(a, b, k, props) {
  const out = { x: a.x, y: a.y, w: a.w, h: a.h };
  for (const p of props) out[p] = a[p] + (b[p] - a[p]) * k;
  for (const p of ['x', 'y', 'w', 'h']) if (!props.includes(p)) out[p] = b[p];
  return out;
}

// An appear/disappear fade; its easing is its own, else the animation's, else ease-out.
function fade(spec, start, now, animFunction) {
  if (!spec) return null;
  const d = seconds(spec.duration, 0.3);
  const from = typeof spec.from === 'number' ? spec.from : 0;
  const to = typeof spec.to === 'number' ? spec.to : 1;
  const t = d > 0 ? (now - start) / d : 1;
  const fn = spec.function !== undefined ? spec.function : animFunction !== undefined ? animFunction : 'ease-out';
  return { value: from + (to - from) * ease(fn, t), done: t >= 1 };
}

function mapFrame(f, m) {
  if (!m) return f;
  const sx = m.T.w !== 0 ? m.A.w / m.T.w : 1;
  const sy = m.T.h !== 0 ? m.A.h / m.T.h : 1;
  return { x: m.A.x + (f.x - m.T.x) * sx, y: m.A.y + (f.y - m.T.y) * sy, w: f.w * sx, h: f.h * sy };
}

export function animateFrames(root, hostState) {
  frameNo++;
  active = false;
  if (specs.size === 0) return;
  const now = hostState.time;
  walk(root, null, now);
  for (const [key, st] of states) {
    if (st.seen === frameNo) continue;
    const dis = st.spec.opacity && st.spec.opacity.disappear;
    if (!dis || !st.parent || st.parent.seen !== frameNo) {
      states.delete(key);
      continue;
    }
    if (st.exitStart === undefined) st.exitStart = now;
    const spec = Object.assign({ from: 1, to: 0 }, dis);
    const f = fade(spec, st.exitStart, now, st.spec.function);
    if (f.done) {
      states.delete(key);
      continue;
    }
    st.node.animOpacity = f.value;
    const kids = st.parent.kids;
    kids.splice(Math.min(st.index, kids.length), 0, st.node);
    active = true;
  }
}

// A node's identity across frames: its id, else its fiber's key path.
function nodeIdentity(node) {
  const p = node.props || {};
  if (p.id !== undefined && p.id !== null && p.animationId !== undefined && p.animationId !== null) return 'id:' + p.id;
  const parts = [];
  for (let f = node.fiber; f; f = f.parent) parts.push(f.key === null ? '' : f.key);
  return parts.join('/');
}

function walk(node, parentMap, now) {
  node.seen = frameNo;
  const kids = node.kids;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i];
    const target = k.frame;
    let shown = target;
    k.animOpacity = undefined;
    const p = k.props || {};
    const key = p.animationId !== undefined && p.animationId !== null ? String(p.animationId) : p.id !== undefined && p.id !== null ? String(p.id) : null;
    const spec = key !== null ? specs.get(key) : undefined;
    if (spec) {
      // Frame animations only for the properties listed (none listed: opacity fades only).
      const props = Array.isArray(spec.properties) ? spec.properties : [];
      // Many nodes may share one animationId (every grid item): each keeps its own state.
      const stateKey = key + '|' + nodeIdentity(k);
      let st = states.get(stateKey);
      if (!st) {
        st = { spec, target, anim: null };
        if (spec.opacity && spec.opacity.appear) st.appearStart = now;
        states.set(stateKey, st);
      } else if (st.exitStart !== undefined) {
        st.exitStart = undefined;
      }
      if (props.length && st.target && changed(st.target, target, props) && predicateAccepts(spec.predicate, st.target, target)) {
        // From the previous target frame, as Daily animates (not from what is shown).
        const from = st.target;
        const delay = seconds(spec.delay, 0);
        st.anim = { from, start: now + delay, dur: seconds(spec.duration, 0.3) };
      }
      st.target = target;
      if (st.anim) {
        const t = st.anim.dur > 0 ? (now - st.anim.start) / st.anim.dur : 1;
        if (t >= 1) st.anim = null;
        else {
          shown = lerpFrame(st.anim.from, target, ease(spec.function, t), props);
          active = true;
        }
      }
      st.shown = shown;
      if (st.appearStart !== undefined) {
        const f = fade(spec.opacity.appear, st.appearStart, now, spec.function);
        if (f.done) st.appearStart = undefined;
        else active = true;
        k.animOpacity = f.value;
      }
      st.seen = frameNo;
      st.node = k;
      st.parent = node;
      st.index = i;
    }
    shown = mapFrame(shown, parentMap);
    k.frame = shown;
    walk(k, shown === target ? null : { T: target, A: shown }, now);
  }
}
