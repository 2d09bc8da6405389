// vcs:extras — `uuid`, `random-seed` and `#vcs-stdlib/components`.
//
// Randomness is deterministic: Math.random is seeded by the runtime, and random-seed's
// generators are seeded from their seed string, so a recording renders the same every time.
// (The sequences are our own; they are not npm random-seed's.)

import { createElement } from 'vcs:react';
import { Video, useActiveVideo } from 'vcs:runtime';
import { grid } from 'vcs:layouts';

function hex(len) {
  let s = '';
  for (let i = 0; i < len; i++) s += ((Math.random() * 16) | 0).toString(16);
  return s;
}

export const NIL = '00000000-0000-0000-0000-000000000000';

export function v4() {
  const variant = (8 + ((Math.random() * 4) | 0)).toString(16);
  return hex(8) + '-' + hex(4) + '-4' + hex(3) + '-' + variant + hex(3) + '-' + hex(12);
}

export const v1 = v4;

export function validate(s) {
  return typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

// Hash a seed string to 32 bits (FNV-1a).
function hashSeed(seed) {
  const s = seed === undefined || seed === null ? '' : String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 0x9e3779b9;
}

// A seeded generator with random-seed's API.
export function createRandom(seed) {
  let state = hashSeed(seed);
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gen = (range) => Math.floor(next() * range);
  gen.random = next;
  gen.range = (range) => Math.floor(next() * range);
  gen.intBetween = (min, max) => Math.floor(next() * (max - min + 1)) + min;
  gen.floatBetween = (min, max) => next() * (max - min) + min;
  gen.string = (count) => {
    let s = '';
    for (let i = 0; i < count; i++) s += String.fromCharCode(33 + gen.range(94));
    return s;
  };
  gen.cleanString = (s) => String(s).replace(/(^\s*)|(\s*$)/gi, '').replace(/[\x00-\x1F]/g, '');
  gen.hashString = (s) => hashSeed(s);
  gen.seed = (s) => {
    state = hashSeed(s);
  };
  gen.addEntropy = () => {};
  gen.initState = () => {};
  gen.done = () => {};
  return gen;
}

// #vcs-stdlib/components: the active videos in the standard grid.
export function VideoGrid(props) {
  const { activeIds } = useActiveVideo(props || {});
  const total = activeIds.length;
  return activeIds.map((id, index) =>
    createElement(Video, {
      key: id,
      id: 'videogrid_' + id,
      src: id,
      scaleMode: props && props.scaleMode,
      style: props && props.videoStyle,
      layout: [grid, { index, total }],
    }),
  );
}
