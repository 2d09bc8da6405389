// vcs:random — `random-seed`: seeded generators with the sequences npm random-seed 0.3.0 gives
// for a seed, so a composition that lays things out with seeded randomness draws the same
// picture as at Daily. The algorithm is Gibson Research's Ultra-High-Entropy PRNG: a lag-48
// multiply-with-carry generator (multiplier 1768863) whose state is filled and seeded through
// Johannes Baagøe's "Mash" string hash (daily-compat.md §1.8).

const ORDER = 48;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;
const TWO_POW_MINUS_53 = 1.1102230246251565e-16;

// Baagøe's Mash: a stateful hash of strings to fractions in [0, 1). Called with no data it
// resets its state.
function makeMash() {
  let n = 0xefc8249d;
  return function mash(data) {
    if (!data) {
      n = 0xefc8249d;
      return undefined;
    }
    const s = data.toString();
    for (let i = 0; i < s.length; i++) {
      n += s.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * TWO_POW_MINUS_32;
  };
}

// JSON with functions written as their source: how random-seed turns a non-string seed into
// the string it hashes.
function seedString(seed) {
  return JSON.stringify(seed, (_key, value) => (typeof value === 'function' ? value.toString() : value));
}

function generator(initialSeed) {
  let carry = 1;
  let phase = ORDER;
  const state = new Array(ORDER);
  let mash = makeMash();
  let entropyCounter = 0;
  for (let i = 0; i < ORDER; i++) state[i] = mash(Math.random());

  // One 32-bit fraction from the multiply-with-carry step.
  const raw = () => {
    if (++phase >= ORDER) phase = 0;
    const t = 1768863 * state[phase] + carry * TWO_POW_MINUS_32;
    carry = t | 0;
    return (state[phase] = t - carry);
  };

  // An integer in [0, range): two raw fractions make one 53-bit fraction.
  const rand = function random(range) {
    return Math.floor(range * (raw() + ((raw() * 0x200000) | 0) * TWO_POW_MINUS_53));
  };

  const pour = (value) => {
    for (let j = 0; j < ORDER; j++) {
      state[j] -= mash(value);
      if (state[j] < 0) state[j] += 1;
    }
  };

  rand.string = (count) => {
    let s = '';
    for (let i = 0; i < count; i++) s += String.fromCharCode(33 + rand(94));
    return s;
  };
  rand.cleanString = (input) => {
    let s = input.replace(/(^\s*)|(\s*$)/gi, '');
    s = s.replace(/[\x00-\x1F]/gi, '');
    return s.replace(/\n /, '\n');
  };
  rand.hashString = (input) => {
    const s = rand.cleanString(input);
    mash(s);
    for (let i = 0; i < s.length; i++) pour(s.charCodeAt(i));
  };
  rand.initState = () => {
    mash();
    for (let i = 0; i < ORDER; i++) state[i] = mash(' ');
    carry = 1;
    phase = ORDER;
  };
  rand.seed = (seed) => {
    let s = seed === undefined || seed === null ? Math.random() : seed;
    if (typeof s !== 'string') s = seedString(s);
    rand.initState();
    rand.hashString(s);
  };
  rand.addEntropy = (...args) => {
    pour(entropyCounter++ + Date.now() + args.join('') + Math.random());
  };
  rand.done = () => {
    mash = null;
  };
  if (initialSeed !== undefined) rand.seed(initialSeed);
  rand.range = (range) => rand(range);
  rand.random = () => rand(Number.MAX_VALUE - 1) / Number.MAX_VALUE;
  rand.floatBetween = (min, max) => rand.random() * (max - min) + min;
  rand.intBetween = (min, max) => Math.floor(rand.random() * (max - min + 1)) + min;
  return rand;
}

// The package's export: callable as `Rand(seed)`, and `Rand.create(seed)`.
export function createRandom(seed) {
  return generator(seed);
}

export const randomSeed = function randomSeed(seed) {
  return generator(seed);
};
randomSeed.create = createRandom;
