// vcs:react/elements — what components create and compare: elements, children helpers, memo,
// forwardRef, refs, contexts. Pure data: nothing here touches the fiber tree.

export const REACT_ELEMENT = Symbol.for('react.element');
export const Fragment = Symbol.for('react.fragment');
export const MEMO = Symbol.for('react.memo');
export const FORWARD_REF = Symbol.for('react.forward_ref');
export const PROVIDER = Symbol.for('react.provider');
export const CONSUMER = Symbol.for('react.context');

// ---------------------------------------------------------------------------------------------
// Elements

export function createElement(type, config, ...children) {
  if (type === undefined || type === null) {
    throw new TypeError(
      'React.createElement: type is ' + type + ' (an undefined component: check the import/export)',
    );
  }
  const props = {};
  let key = null;
  let ref = null;
  if (config) {
    for (const k in config) {
      if (k === 'key') key = config.key == null ? null : '' + config.key;
      else if (k === 'ref') ref = config.ref;
      else if (k !== '__self' && k !== '__source') props[k] = config[k];
    }
  }
  if (children.length === 1) props.children = children[0];
  else if (children.length > 1) props.children = children;
  if (type.defaultProps) {
    for (const k in type.defaultProps) if (props[k] === undefined) props[k] = type.defaultProps[k];
  }
  return { $$typeof: REACT_ELEMENT, type, props, key, ref };
}

export function isValidElement(x) {
  return x !== null && typeof x === 'object' && x.$$typeof === REACT_ELEMENT;
}

export function cloneElement(el, config, ...children) {
  const props = Object.assign({}, el.props);
  let key = el.key;
  let ref = el.ref;
  if (config) {
    for (const k in config) {
      if (k === 'key') key = '' + config.key;
      else if (k === 'ref') ref = config.ref;
      else props[k] = config[k];
    }
  }
  if (children.length === 1) props.children = children[0];
  else if (children.length > 1) props.children = children;
  return { $$typeof: REACT_ELEMENT, type: el.type, props, key, ref };
}

export function flattenInto(out, c) {
  if (c === null || c === undefined || typeof c === 'boolean') return;
  if (Array.isArray(c)) {
    for (const x of c) flattenInto(out, x);
  } else out.push(c);
}

export const Children = {
  toArray(c) {
    const out = [];
    flattenInto(out, c);
    return out;
  },
  map(c, fn) {
    return Children.toArray(c).map(fn);
  },
  forEach(c, fn) {
    Children.toArray(c).forEach(fn);
  },
  count(c) {
    return Children.toArray(c).length;
  },
  only(c) {
    const a = Children.toArray(c);
    if (a.length !== 1) throw new Error('React.Children.only expected to receive a single element');
    return a[0];
  },
};

export function memo(type, compare) {
  return { $$typeof: MEMO, type, compare: compare || shallowEqual };
}

export function forwardRef(render) {
  return { $$typeof: FORWARD_REF, render };
}

export function createRef() {
  return { current: null };
}

export function createContext(defaultValue) {
  const ctx = { $$typeof: CONSUMER, _default: defaultValue, _subs: new Set(), _host: null };
  ctx.Provider = { $$typeof: PROVIDER, _context: ctx };
  ctx.Consumer = ctx;
  return ctx;
}

// A context whose value comes from the host (params, time, media inputs), not a Provider.
export function createHostContext(channel, read) {
  const ctx = createContext(undefined);
  ctx._host = { channel, read };
  return ctx;
}

export function shallowEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !Object.is(a[k], b[k])) return false;
  return true;
}
