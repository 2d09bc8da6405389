// vcs:react/hooks — the hooks, over the fiber being rendered (vcs:react/fibers keeps it and its
// hook cursor).

import { fiberForHook, markDirty, nextHook, readContext, skipHook } from 'vcs:react/fibers';

export function useState(initial) {
  return useReducer(basicReducer, initial, (v) => (typeof v === 'function' ? v() : v));
}

function basicReducer(s, a) {
  return typeof a === 'function' ? a(s) : a;
}

export function useReducer(reducer, initialArg, init) {
  const f = fiberForHook('useReducer');
  const h = nextHook(() => {
    const hook = { state: init ? init(initialArg) : initialArg, reducer };
    hook.dispatch = (action) => {
      if (f.unmounted) return;
      const next = hook.reducer(hook.state, action);
      if (Object.is(next, hook.state)) return;
      hook.state = next;
      markDirty(f);
    };
    return hook;
  });
  h.reducer = reducer;
  return [h.state, h.dispatch];
}

export function useRef(initial) {
  fiberForHook('useRef');
  return nextHook(() => ({ current: initial }));
}

function depsChanged(a, b) {
  if (!a || !b) return true;
  if (a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return true;
  return false;
}

export function useMemo(fn, deps) {
  fiberForHook('useMemo');
  const h = nextHook(() => ({ deps: null, value: undefined, init: false }));
  if (!h.init || depsChanged(h.deps, deps)) {
    h.value = fn();
    h.deps = deps;
    h.init = true;
  }
  return h.value;
}

export function useCallback(fn, deps) {
  return useMemo(() => fn, deps);
}

function effectHook(name, fn, deps, layout) {
  const f = fiberForHook(name);
  const h = nextHook(() => ({ deps: undefined, cleanup: null, mounted: false }));
  if (!h.mounted || deps === undefined || deps === null || depsChanged(h.deps, deps)) {
    h.deps = deps;
    h.mounted = true;
    (f.effects || (f.effects = [])).push({ h, fn, layout });
  }
}

export function useEffect(fn, deps) {
  effectHook('useEffect', fn, deps, false);
}

export function useLayoutEffect(fn, deps) {
  effectHook('useLayoutEffect', fn, deps, true);
}

export const useInsertionEffect = useLayoutEffect;

export function useContext(ctx) {
  const f = fiberForHook('useContext');
  skipHook();
  return readContext(f, ctx);
}

export function useImperativeHandle(ref, create, deps) {
  useLayoutEffect(() => {
    if (!ref) return undefined;
    const v = create();
    if (typeof ref === 'function') {
      ref(v);
      return () => ref(null);
    }
    ref.current = v;
    return () => {
      ref.current = null;
    };
  }, deps);
}

let idCounter = 0;
export function useId() {
  fiberForHook('useId');
  return nextHook(() => ({ id: ':r' + (idCounter++).toString(36) + ':' })).id;
}

export function useDebugValue() {}

export function useTransition() {
  return [false, (fn) => fn()];
}

export function useDeferredValue(v) {
  return v;
}

export function useSyncExternalStore(subscribeFn, getSnapshot) {
  const [, force] = useReducer((x) => x + 1, 0);
  const value = getSnapshot();
  useEffect(() => subscribeFn(() => force()), [subscribeFn]);
  return value;
}

export function flushSync(fn) {
  return fn ? fn() : undefined;
}

export function startTransition(fn) {
  fn();
}
