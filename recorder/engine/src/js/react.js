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

export * from 'vcs:react/elements';
export * from 'vcs:react/fibers';
export * from 'vcs:react/hooks';

export const version = '18.2.0-vcs';
