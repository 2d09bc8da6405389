// #vcs-stdlib/layouts: the standard layout functions, with Daily's arithmetic
// (daily-compat.md §1.7). Each is fn(parentFrame, params, ctx) -> {x, y, w, h,
// containerTransform?} in absolute pixels; `ctx` is the layout context ({viewport: {x, y, w, h},
// pixelsPerGridUnit, ...}). The runtime deletes top-level params whose value is NaN before the
// call, so the destructuring defaults below apply to them as they do at Daily.

function finite(v) {
  return typeof v === 'number' && isFinite(v);
}

function pxPerGu(ctx) {
  return ctx.pixelsPerGridUnit;
}

// Insets; the first matching rule wins: `pad` (px, all sides), `pad_gu` (a number, all sides),
// `pad_gu` {l, r, t, b}, `pad_viewportRelative` {l, r, t, b} (fractions of the viewport). The
// containerTransform carries the padding so content-size hooks can add it back.
export function pad(parentFrame, params, ctx) {
  const p = params || {};
  let l = 0;
  let r = 0;
  let t = 0;
  let b = 0;
  if (finite(p.pad)) {
    l = r = t = b = p.pad;
  } else if (finite(p.pad_gu)) {
    l = r = t = b = p.pad_gu * pxPerGu(ctx);
  } else if (p.pad_gu && typeof p.pad_gu === 'object') {
    const u = pxPerGu(ctx);
    const side = (v) => (finite(v) ? v * u : 0);
    l = side(p.pad_gu.l);
    r = side(p.pad_gu.r);
    t = side(p.pad_gu.t);
    b = side(p.pad_gu.b);
  } else if (p.pad_viewportRelative && typeof p.pad_viewportRelative === 'object') {
    const vr = p.pad_viewportRelative;
    const vp = ctx.viewport;
    const side = (v, size) => (finite(v) ? v * size : 0);
    l = side(vr.l, vp.w);
    r = side(vr.r, vp.w);
    t = side(vr.t, vp.h);
    b = side(vr.b, vp.h);
  }
  return {
    x: parentFrame.x + l,
    y: parentFrame.y + t,
    w: parentFrame.w - l - r,
    h: parentFrame.h - t - b,
    containerTransform: { x: l, y: t, w: -(l + r), h: -(t + b) },
  };
}

// Translates by `offsets {x, y}`, else by `x`/`y`; the size is unchanged.
export function offset(parentFrame, params) {
  const p = params || {};
  const o = p.offsets && typeof p.offsets === 'object' ? p.offsets : p;
  const dx = o.x || 0;
  const dy = o.y || 0;
  return {
    x: parentFrame.x + dx,
    y: parentFrame.y + dy,
    w: parentFrame.w,
    h: parentFrame.h,
    containerTransform: { x: dx, y: dy, w: 0, h: 0 },
  };
}

// The centred rect of `contentAspectRatio` in the parent (a copy of the parent when the ratio is
// not finite). No rounding.
export function fit(parentFrame, params) {
  const ar = (params || {}).contentAspectRatio;
  let { x, y, w, h } = parentFrame;
  if (!finite(ar)) return { x, y, w, h };
  if (ar >= w / h) {
    const fh = w / ar;
    y += (h - fh) / 2;
    h = fh;
  } else {
    const fw = h * ar;
    x += (w - fw) / 2;
    w = fw;
  }
  return { x, y, w, h };
}

// Index 0 takes `pos` of the space left after the margin; any other index (undefined included)
// takes the rest, after the margin.
function split(parentFrame, params, ctx, vertical) {
  const { index, pos = 0.5, margin_gu = 0 } = params || {};
  const m = margin_gu * pxPerGu(ctx);
  let { x, y, w, h } = parentFrame;
  if (vertical) {
    const avail = w - m;
    if (index === 0) w = avail * pos;
    else {
      w = avail * (1 - pos);
      x += avail * pos + m;
    }
  } else {
    const avail = h - m;
    if (index === 0) h = avail * pos;
    else {
      h = avail * (1 - pos);
      y += avail * pos + m;
    }
  }
  return { x, y, w, h };
}

export function splitVertical(parentFrame, params, ctx) {
  return split(parentFrame, params, ctx, true);
}

export function splitHorizontal(parentFrame, params, ctx) {
  return split(parentFrame, params, ctx, false);
}

// Decided by the viewport's aspect, not the parent's.
export function splitAcrossLongerDimension(parentFrame, params, ctx) {
  const vp = ctx.viewport;
  return split(parentFrame, params, ctx, vp.w / vp.h >= 1);
}

// The grid-item routine column and grid share: items of `aspect` in cols × rows inside `frame`,
// centred across the limiting direction; x/y floored and w/h ceiled.
function gridItem(frame, g) {
  let { x, y, w, h } = frame;
  const { index, cols, rows, total, aspect, inner, preserve, centerRemainder } = g;
  let itemW;
  let itemH;
  if (!preserve) {
    itemW = (w - (cols - 1) * inner) / cols;
    itemH = (h - (rows - 1) * inner) / rows;
  } else if ((cols * aspect) / rows >= w / h) {
    itemW = (w - (cols - 1) * inner) / cols;
    itemH = itemW / aspect;
    y += (h - (rows * itemH + (rows - 1) * inner)) / 2;
  } else {
    itemH = (h - (rows - 1) * inner) / rows;
    itemW = itemH * aspect;
    x += (w - (cols * itemW + (cols - 1) * inner)) / 2;
  }
  const col = index % cols;
  const row = Math.floor(index / cols);
  if (centerRemainder) {
    const remainder = total % cols;
    if (remainder > 0 && row === rows - 1) x += ((itemW + inner) * (cols - remainder)) / 2;
  }
  x += col * (itemW + inner);
  y += row * (itemH + inner);
  return { x: Math.floor(x), y: Math.floor(y), w: Math.ceil(itemW), h: Math.ceil(itemH) };
}

export function column(parentFrame, params, ctx) {
  const {
    index = 0,
    total = 1,
    makeRow = false,
    center = false,
    itemAspectRatio = 0,
    innerMargin_gu = 0.7,
    outerMargin_gu = 0.5,
  } = params || {};
  const u = pxPerGu(ctx);
  const inner = total > 1 ? innerMargin_gu * u : 0;
  const outer = outerMargin_gu * u;
  let { x, y, w, h } = parentFrame;
  x += outer;
  y += outer;
  w -= 2 * outer;
  h -= 2 * outer;
  const cols = makeRow ? total : 1;
  const rows = makeRow ? 1 : total;
  let aspect;
  if (itemAspectRatio > 0) aspect = itemAspectRatio;
  else if (rows === 1) aspect = (w - inner * (total - 1)) / total / h;
  else aspect = w / ((h - inner * (total - 1)) / total);
  if (center) {
    if (makeRow) {
      const len = total * (h * itemAspectRatio) + (total - 1) * inner;
      x += (w - len) / 2;
      w = len;
    } else {
      const len = total * (w / itemAspectRatio) + (total - 1) * inner;
      y += (h - len) / 2;
      h = len;
    }
  }
  return gridItem({ x, y, w, h }, { index, cols, rows, total, aspect, inner, preserve: true, centerRemainder: false });
}

export function gridColumns(total) {
  if (total > 16) return 5;
  if (total > 9) return 4;
  if (total > 4) return 3;
  if (total > 1) return 2;
  return 1;
}

// Daily's video grid: margins only for more than one item; automatic margins from the
// viewport; items of the viewport's aspect, a partial last row centred.
export function grid(parentFrame, params, ctx) {
  const { index = 0, total, innerMargin_gu = -1, outerMargin_gu = -1, preserveItemAspectRatio = true } = params || {};
  if (!(total >= 1) || !isFinite(total)) {
    return { x: parentFrame.x, y: parentFrame.y, w: parentFrame.w, h: parentFrame.h };
  }
  const u = pxPerGu(ctx);
  const vp = ctx.viewport;
  const cols = gridColumns(total);
  const rows = Math.ceil(total / cols);
  let inner = 0;
  let outerX = 0;
  let outerY = 0;
  if (total > 1) {
    const landscape = vp.w / vp.h > 1;
    const marginRel = landscape ? Math.round(vp.h * 0.05) : vp.w * 0.04;
    inner = innerMargin_gu >= 0 ? innerMargin_gu * u : marginRel;
    if (outerMargin_gu >= 0) {
      outerX = outerY = outerMargin_gu * u;
    } else if (preserveItemAspectRatio && cols === rows) {
      outerY = landscape ? Math.round(marginRel * 0.7) : Math.round(marginRel);
    }
  }
  const frame = {
    x: parentFrame.x + outerX,
    y: parentFrame.y + outerY,
    w: parentFrame.w - 2 * outerX,
    h: parentFrame.h - 2 * outerY,
  };
  return gridItem(frame, {
    index,
    cols,
    rows,
    total,
    aspect: vp.w / vp.h,
    inner,
    preserve: preserveItemAspectRatio,
    centerRemainder: true,
  });
}

// A text table: cell `index` of `numCols` columns, each row `numTextLines` lines of
// `textSize_gu` text at 1.2 line height.
export function simpleLineGrid(parentFrame, params, ctx) {
  const { index = 0, numCols = 4, numTextLines = 1, textSize_gu = 1 } = params || {};
  const col = index % numCols;
  const row = Math.floor(index / numCols);
  const w = parentFrame.w / numCols;
  const h = textSize_gu * pxPerGu(ctx) * 1.2 * numTextLines;
  return { x: parentFrame.x + col * w, y: parentFrame.y + row * h, w, h };
}
