// vcs:react — our React-compatible runtime: elements, a keyed reconciler over a persistent
// fiber tree, hooks, class components, context, memo, error boundaries.
//
// Rendering is synchronous and commits immediately: a frame renders dirty fibers, then runs
// layout effects, class lifecycles and effects (children before parents), and repeats while
// effects made more work (bounded). Fibers whose element is identical and which are not dirty
// are skipped, so a frame where only time advanced re-renders only the components that read
// time.
//
// The parts, split as Preact splits them: vcs:react/elements (what components create),
// vcs:react/fibers (the tree, reconciliation, class components, effects), vcs:react/hooks.

import { Fragment, createElement } from 'vcs:react/elements';
import { useState } from 'vcs:react/hooks';

export * from 'vcs:react/elements';
export * from 'vcs:react/fibers';
export * from 'vcs:react/hooks';

// The React version Daily's compositions are written against.
export const version = '17.0.2';

// React 17's remaining exports, for compositions written against Daily's React 17.0.2.

// StrictMode, Profiler and Suspense render their children (there is no suspension to show a
// fallback for: a `lazy` component renders nothing until its module has loaded).
export const StrictMode = Fragment;
export const Profiler = Fragment;
export const Suspense = Fragment;

export function createFactory(type) {
  return (props, ...children) => createElement(type, props, ...children);
}

// A component whose module comes from `factory()` (a promise of {default}). It renders nothing
// until the promise settles (promises settle between frames), then the loaded component.
export function lazy(factory) {
  let status = 'new';
  let result;
  let loading;
  return function Lazy(props) {
    const [, rerender] = useState(0);
    if (status === 'new') {
      status = 'loading';
      loading = Promise.resolve()
        .then(factory)
        .then(
          (m) => {
            status = 'done';
            result = m && m.default !== undefined ? m.default : m;
          },
          (e) => {
            status = 'failed';
            result = e;
          },
        );
    }
    if (status === 'loading') {
      loading.then(() => rerender((n) => n + 1));
      return null;
    }
    if (status === 'failed') throw result;
    return createElement(result, props);
  };
}

export const __SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED = Object.freeze({
  ReactCurrentDispatcher: { current: null },
  ReactCurrentBatchConfig: { transition: 0 },
  ReactCurrentOwner: { current: null },
  IsSomeRendererActing: { current: false },
});
