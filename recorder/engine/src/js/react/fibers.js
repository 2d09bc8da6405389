// vcs:react/fibers — the persistent fiber tree: host channels, rendering dirty fibers, class
// components, keyed reconciliation, unmounting, effects after commit, and the fiber the hooks
// read.
//
// Module state (`root`, `current`, `hookIndex`, `afterCommit`, `pendingWork`, `hostChanged`,
// `liveFibers`, `channels`) is one per realm, and an engine owns one realm per recording.

import {
  CONSUMER,
  FORWARD_REF,
  Fragment,
  MEMO,
  PROVIDER,
  REACT_ELEMENT,
  createElement,
  flattenInto,
  shallowEqual,
} from 'vcs:react/elements';

// ---------------------------------------------------------------------------------------------
// Class components

export class Component {
  constructor(props, context) {
    this.props = props;
    this.context = context;
    this.state = this.state || {};
  }
  setState(partial, callback) {
    const f = this.__fiber;
    if (!f || f.unmounted) return;
    const base = this.__pending || this.state;
    const next = typeof partial === 'function' ? partial(base, this.props) : partial;
    if (next == null) return;
    this.__pending = Object.assign({}, base, next);
    if (callback) (this.__callbacks || (this.__callbacks = [])).push(callback);
    markDirty(f);
  }
  forceUpdate(callback) {
    const f = this.__fiber;
    if (!f || f.unmounted) return;
    this.__force = true;
    if (callback) (this.__callbacks || (this.__callbacks = [])).push(callback);
    markDirty(f);
  }
}
Component.prototype.isReactComponent = {};

export class PureComponent extends Component {}
PureComponent.prototype.isPureReactComponent = true;

// ---------------------------------------------------------------------------------------------
// Host channels: fibers subscribed to host inputs are marked dirty when those inputs change.

const channels = new Map();
export function subscribe(fiber, channel) {
  let set = channels.get(channel);
  if (!set) channels.set(channel, (set = new Set()));
  set.add(fiber);
  (fiber.channels || (fiber.channels = new Set())).add(channel);
}
export function notifyChannel(channel) {
  const set = channels.get(channel);
  if (set) for (const f of set) markDirty(f);
}
export function channelHasSubscribers(channel) {
  const set = channels.get(channel);
  return !!set && set.size > 0;
}

// ---------------------------------------------------------------------------------------------
// Fibers

class Fiber {
  constructor(type, key, parent) {
    if (++liveFibers > MAX_FIBERS) {
      liveFibers--;
      throw new RangeError(
        'the composition made more than ' + MAX_FIBERS + ' components and elements; the cap keeps a frame bounded',
      );
    }
    this.type = type;
    this.key = key;
    this.parent = parent;
    this.element = null;
    this.props = null;
    this.kids = [];
    this.hooks = null;
    this.inst = null;
    this.dirty = true;
    this.dirtyDesc = false;
    this.unmounted = false;
    this.channels = null;
    this.contexts = null;
    this.value = undefined;
    this.text = null;
  }
}

let root = null;
let current = null;
let hookIndex = 0;
let afterCommit = [];
let pendingWork = false;
// Set when anything the layout and drawing passes read may have changed: host elements mounted,
// unmounted, moved or given different props, or text changed. A re-render that produces the
// same host tree (a countdown re-rendering with the same second) leaves it false, and the frame
// reuses the last scene.
let hostChanged = false;

export function markDirty(f) {
  if (f.unmounted) return;
  f.dirty = true;
  pendingWork = true;
  for (let p = f.parent; p && !p.dirtyDesc; p = p.parent) p.dirtyDesc = true;
}

// Caps on the component tree (style.md: cap what untrusted input can make).
const MAX_FIBERS = 200000;
let liveFibers = 0;

export function recover() {
  current = null;
  hookIndex = 0;
  afterCommit = [];
  const all = (f) => {
    f.dirty = true;
    for (const k of f.kids) all(k);
  };
  if (root) all(root);
  pendingWork = !!root;
}

export function hasPendingWork() {
  return pendingWork;
}

export function mountRoot(element) {
  if (root) unmount(root);
  root = new Fiber(Fragment, null, null);
  root.element = { props: { children: element } };
  root.props = root.element.props;
  pendingWork = true;
  hostChanged = true;
}

// True when the host tree may differ from the one last taken; clears the flag.
export function takeHostChanged() {
  const changed = hostChanged;
  hostChanged = false;
  return changed;
}

// Structural equality for host props: plain objects and arrays compared member by member
// (inline style and layout arrays are new objects on every render), anything else, functions
// included, by identity. Deep or cyclic values count as different.
function sameValue(a, b, depth) {
  if (Object.is(a, b)) return true;
  if (depth > 6 || a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b) || a.$$typeof !== undefined || b.$$typeof !== undefined) return false;
  const pa = Object.getPrototypeOf(a);
  if ((pa !== Object.prototype && pa !== null) || Object.getPrototypeOf(b) !== pa) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  // Indexed loops here and below: boa makes an iterator object for every for-of, and these
  // run for every prop of every re-rendered element, every frame.
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameValue(a[k], b[k], depth + 1)) return false;
  }
  return true;
}

// Host props other than `children` (which the reconciler and `Text` handle themselves).
function sameHostProps(a, b) {
  if (a === b) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  let count = 0;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (k === 'children') continue;
    count++;
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameValue(a[k], b[k], 0)) return false;
  }
  for (let i = 0; i < kb.length; i++) if (kb[i] !== 'children') count--;
  return count === 0;
}

export function rootFiber() {
  return root;
}

// Renders everything dirty; returns true when anything was rendered.
export function renderPass() {
  if (!root || !pendingWork) return false;
  pendingWork = false;
  visit(root);
  const queue = afterCommit;
  afterCommit = [];
  for (const fn of queue) fn();
  return true;
}

function visit(f) {
  if (f.dirty) return renderFiber(f);
  if (!f.dirtyDesc) return;
  f.dirtyDesc = false;
  guarded(f, visitKids, f);
}

function visitKids(f) {
  const kids = f.kids;
  for (let i = 0; i < kids.length; i++) visit(kids[i]);
}

function isBoundary(f) {
  const t = f.type;
  return (
    typeof t === 'function' &&
    t.prototype &&
    t.prototype.isReactComponent &&
    (typeof t.getDerivedStateFromError === 'function' ||
      typeof t.prototype.componentDidCatch === 'function')
  );
}

// Runs `work(f, arg)` on a fiber's subtree; an error boundary catches what its descendants
// throw, takes the derived error state and renders again. (Arguments, not a closure: this runs
// for every fiber rendered, every frame.)
function guarded(f, work, arg) {
  if (!isBoundary(f) || !f.inst) return work(f, arg);
  try {
    work(f, arg);
  } catch (err) {
    const inst = f.inst;
    if (f.catching) throw err;
    for (const k of f.kids) unmount(k);
    f.kids = [];
    const t = f.type;
    if (typeof t.getDerivedStateFromError === 'function') {
      inst.__pending = Object.assign({}, inst.__pending || inst.state, t.getDerivedStateFromError(err));
    }
    if (typeof inst.componentDidCatch === 'function') {
      afterCommit.push(() => inst.componentDidCatch(err, { componentStack: componentStack(f) }));
    }
    f.catching = true;
    try {
      renderFiber(f);
    } finally {
      f.catching = false;
    }
  }
}

export function componentName(t) {
  if (typeof t === 'string') return t;
  if (typeof t === 'function') return t.displayName || t.name || 'Anonymous';
  if (t && t.$$typeof === MEMO) return componentName(t.type);
  if (t && t.$$typeof === FORWARD_REF) return componentName(t.render);
  if (t === Fragment) return 'Fragment';
  if (t && t.$$typeof === PROVIDER) return 'Context.Provider';
  if (t && t.$$typeof === CONSUMER) return 'Context.Consumer';
  return 'Unknown';
}

function componentStack(f) {
  const names = [];
  for (let p = f; p; p = p.parent) if (typeof p.type !== 'symbol') names.push('\n    in ' + componentName(p.type));
  return names.join('');
}

function renderFiber(f) {
  __vcs_tick();
  f.dirty = false;
  f.dirtyDesc = false;
  const t = f.type;
  let children;
  if (typeof t === 'function') {
    if (t.prototype && t.prototype.isReactComponent) {
      children = renderClass(f);
      if (children === BAIL) {
        visitKids(f);
        return;
      }
    } else {
      children = renderHooks(f, t, f.props, undefined);
    }
  } else if (typeof t === 'string') {
    if (t === 'Text') {
      const text = textOf(f.props.children);
      if (text !== f.text) hostChanged = true;
      f.text = text;
      children = null;
    } else children = f.props.children;
  } else if (t === Fragment) {
    children = f.props.children;
  } else if (t.$$typeof === MEMO) {
    const inner = t.type;
    if (typeof inner === 'function' && !(inner.prototype && inner.prototype.isReactComponent)) {
      children = renderHooks(f, inner, f.props, undefined);
    } else {
      children = createElement(inner, f.props);
    }
  } else if (t.$$typeof === FORWARD_REF) {
    children = renderHooks(f, t.render, f.props, f.element.ref);
  } else if (t.$$typeof === PROVIDER) {
    const v = f.props.value;
    if (f.hooks === null) f.hooks = [];
    else if (!Object.is(f.value, v)) {
      for (const sub of t._context._subs) if (isBelow(sub, f)) markDirty(sub);
    }
    f.value = v;
    children = f.props.children;
  } else if (t.$$typeof === CONSUMER) {
    const fn = f.props.children;
    children = typeof fn === 'function' ? fn(readContext(f, t)) : null;
  } else {
    throw new TypeError('Element type is invalid: ' + String(t));
  }
  guarded(f, reconcile, children);
  if (f.effects) {
    const effects = f.effects;
    f.effects = null;
    queueEffects(effects);
  }
}

function isBelow(f, ancestor) {
  for (let p = f.parent; p; p = p.parent) if (p === ancestor) return true;
  return false;
}

// A Text's children as Daily joins them: an array with Array.join(' ') (null/undefined give '',
// false gives 'false', nested arrays are comma-joined); a falsy single child gives ''.
function textOf(children) {
  if (Array.isArray(children)) return children.join(' ');
  if (!children) return '';
  return typeof children === 'object' ? '' : String(children);
}

const BAIL = Symbol('bail');

function renderClass(f) {
  const t = f.type;
  const props = f.props;
  let inst = f.inst;
  const ctx = t.contextType ? readContext(f, t.contextType) : undefined;
  if (!inst) {
    inst = new t(props, ctx);
    inst.__fiber = f;
    inst.props = props;
    inst.context = ctx;
    if (inst.state === undefined || inst.state === null) inst.state = {};
    f.inst = inst;
    if (typeof t.getDerivedStateFromProps === 'function') {
      inst.state = Object.assign({}, inst.state, t.getDerivedStateFromProps(props, inst.state));
    }
    if (typeof inst.componentDidMount === 'function') {
      afterCommit.push(() => inst.componentDidMount());
    }
    f.prevElement = f.element;
    return inst.render();
  }
  const prevProps = inst.props;
  const prevState = inst.state;
  let nextState = inst.__pending || inst.state;
  inst.__pending = null;
  if (typeof t.getDerivedStateFromProps === 'function') {
    nextState = Object.assign({}, nextState, t.getDerivedStateFromProps(props, nextState));
  }
  const force = inst.__force;
  inst.__force = false;
  let update = true;
  if (!force) {
    if (typeof inst.shouldComponentUpdate === 'function') {
      update = inst.shouldComponentUpdate(props, nextState, ctx);
    } else if (t.prototype.isPureReactComponent) {
      update = !shallowEqual(prevProps, props) || !shallowEqual(prevState, nextState);
    }
  }
  inst.props = props;
  inst.state = nextState;
  inst.context = ctx;
  const callbacks = inst.__callbacks;
  inst.__callbacks = null;
  if (!update) {
    if (callbacks) afterCommit.push(() => callbacks.forEach((cb) => cb()));
    return BAIL;
  }
  const out = inst.render();
  afterCommit.push(() => {
    if (typeof inst.componentDidUpdate === 'function') inst.componentDidUpdate(prevProps, prevState);
    if (callbacks) callbacks.forEach((cb) => cb());
  });
  return out;
}

function renderHooks(f, fn, props, ref) {
  const prev = current;
  const prevIndex = hookIndex;
  current = f;
  hookIndex = 0;
  if (f.hooks === null) f.hooks = [];
  try {
    return ref === undefined ? fn(props) : fn(props, ref);
  } finally {
    current = prev;
    hookIndex = prevIndex;
  }
}

function keyOf(el, i) {
  if (el !== null && typeof el === 'object' && el.key !== null && el.key !== undefined) return 'k' + el.key;
  return 'i' + i;
}

function typeOf(el) {
  if (typeof el === 'string' || typeof el === 'number') return '#text';
  return el.type;
}

function reconcile(f, children) {
  const items = [];
  flattenInto(items, children);
  const old = f.kids;
  // Kids that keep their place and type are matched in place; the map of old kids by key is
  // made only from the first one that does not (moved, added, removed or of another type).
  let byKey = null;
  let moved = items.length !== old.length;
  const kids = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const el = items[i];
    if (typeof el === 'object' && el.$$typeof !== REACT_ELEMENT) {
      throw new TypeError(
        'Objects are not valid as a child (found: object with keys {' + Object.keys(el).join(', ') + '})',
      );
    }
    const key = keyOf(el, i);
    const type = typeOf(el);
    let kid;
    if (byKey === null && i < old.length && old[i].key === key && old[i].type === type) {
      kid = old[i];
    } else {
      if (byKey === null) {
        byKey = new Map();
        for (let j = i; j < old.length; j++) byKey.set(old[j].key, old[j]);
      }
      kid = byKey.get(key);
      if (kid && kid.type === type) byKey.delete(key);
      else kid = undefined;
    }
    if (kid) {
      updateFiber(kid, el);
    } else {
      kid = new Fiber(type, key, f);
      kid.element = el;
      kid.props = type === '#text' ? { text: String(el) } : el.props;
      renderFiber(kid);
      attachRef(kid, el);
    }
    kids[i] = kid;
    if (kid !== old[i]) moved = true;
  }
  if (byKey) for (const k of byKey.values()) unmount(k);
  else for (let j = items.length; j < old.length; j++) unmount(old[j]);
  if (moved) hostChanged = true;
  f.kids = kids;
}

function attachRef(f, el) {
  if (typeof el !== 'object' || !el.ref) return;
  const target = f.inst || (typeof f.type === 'string' ? { id: f.props.id, type: f.type } : null);
  const ref = el.ref;
  if (typeof ref === 'function') ref(target);
  else ref.current = target;
}

function updateFiber(f, el) {
  if (f.type === '#text') {
    f.element = el;
    if (f.props.text !== String(el)) hostChanged = true;
    f.props = { text: String(el) };
    f.dirty = false;
    return;
  }
  if (!f.dirty && f.element === el) {
    if (f.dirtyDesc) visit(f);
    return;
  }
  const t = f.type;
  if (!f.dirty && t && t.$$typeof === MEMO && t.compare(f.props, el.props)) {
    f.element = el;
    if (f.dirtyDesc) visit(f);
    return;
  }
  f.element = el;
  if (typeof t === 'string' && !hostChanged && !sameHostProps(f.props, el.props)) hostChanged = true;
  f.props = el.props;
  renderFiber(f);
}

function unmount(f) {
  if (f.unmounted) return;
  f.unmounted = true;
  hostChanged = true;
  liveFibers--;
  for (const k of f.kids) unmount(k);
  if (f.inst && typeof f.inst.componentWillUnmount === 'function') f.inst.componentWillUnmount();
  if (f.hooks) {
    for (const h of f.hooks) {
      if (h && typeof h.cleanup === 'function') {
        const c = h.cleanup;
        h.cleanup = null;
        c();
      }
    }
  }
  if (f.channels) for (const c of f.channels) channels.get(c).delete(f);
  if (f.contexts) for (const c of f.contexts) c._subs.delete(f);
  if (f.element && typeof f.element === 'object' && f.element.ref) {
    const ref = f.element.ref;
    if (typeof ref === 'function') ref(null);
    else ref.current = null;
  }
}

export function readContext(f, ctx) {
  if (!f.contexts) f.contexts = new Set();
  if (!f.contexts.has(ctx)) {
    f.contexts.add(ctx);
    ctx._subs.add(f);
  }
  if (ctx._host) {
    subscribe(f, ctx._host.channel);
    return ctx._host.read();
  }
  for (let p = f.parent; p; p = p.parent) {
    if (p.type && p.type.$$typeof === PROVIDER && p.type._context === ctx) return p.value;
  }
  return ctx._default;
}

// ---------------------------------------------------------------------------------------------
// Hook plumbing: the fiber being rendered and its hook cursor, and effects queued for commit.

export function fiberForHook(name) {
  if (!current) {
    throw new Error(
      'Invalid hook call: ' + name + ' can only be called inside the body of a function component',
    );
  }
  return current;
}

export function currentFiber() {
  return fiberForHook('a hook');
}

export function nextHook(init) {
  const f = current;
  const i = hookIndex++;
  let h = f.hooks[i];
  if (h === undefined) {
    h = init();
    f.hooks[i] = h;
  }
  return h;
}

// useContext takes a hook slot without keeping state in it, so later hooks keep their slots.
export function skipHook() {
  hookIndex++;
}

function queueEffects(effects) {
  // Layout effects of a fiber run before its passive effects; both after its children's.
  const run = (e) => {
    if (e.h.cleanup) {
      const c = e.h.cleanup;
      e.h.cleanup = null;
      c();
    }
    const r = e.fn();
    e.h.cleanup = typeof r === 'function' ? r : null;
  };
  afterCommit.push(() => {
    for (const e of effects) if (e.layout) run(e);
    for (const e of effects) if (!e.layout) run(e);
  });
}
