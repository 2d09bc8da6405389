// #vcs-stdlib/layouts: the standard layout functions (vcs-api.md §4).
// Each is fn(parentFrame, params, ctx) -> {x, y, w, h, containerTransform?} in absolute pixels.

function num(v, d) {
  return typeof v === 'number' && isFinite(v) ? v : d;
}

function pxPerGu(ctx) {
  return (ctx && ctx.pixelsPerGridUnit) || 20;
}

function viewportOf(ctx, frame) {
  return (ctx && ctx.viewport) || { w: frame.w, h: frame.h };
}

function edges(v, unit) {
  if (typeof v === 'number') return { l: v * unit, r: v * unit, t: v * unit, b: v * unit };
  if (v && typeof v === 'object') {
    return { l: num(v.l, 0) * unit, r: num(v.r, 0) * unit, t: num(v.t, 0) * unit, b: num(v.b, 0) * unit };
  }
  return null;
}

// Inset by `pad` (px), `pad_gu` (number or {l,r,t,b}) or `pad_viewportRelative` {l,r,t,b}
// (fractions of the viewport). The inset is reported as containerTransform so content size
// excludes it.
export function pad(parentFrame, params = {}, ctx) {
  const vp = viewportOf(ctx, parentFrame);
  let e = null;
  if (params.pad_viewportRelative && typeof params.pad_viewportRelative === 'object') {
    const p = params.pad_viewportRelative;
    e = { l: num(p.l, 0) * vp.w, r: num(p.r, 0) * vp.w, t: num(p.t, 0) * vp.h, b: num(p.b, 0) * vp.h };
  } else if (params.pad_gu !== undefined) {
    e = edges(params.pad_gu, pxPerGu(ctx));
  } else if (params.pad !== undefined) {
    e = edges(params.pad, 1);
  }
  e = e || { l: 0, r: 0, t: 0, b: 0 };
  return {
    x: parentFrame.x + e.l,
    y: parentFrame.y + e.t,
    w: parentFrame.w - e.l - e.r,
    h: parentFrame.h - e.t - e.b,
    containerTransform: { x: e.l, y: e.t },
  };
}

// Translate by `offsets {x,y}` or `x`, `y` (px).
export function offset(parentFrame, params = {}) {
  const o = params.offsets && typeof params.offsets === 'object' ? params.offsets : params;
  const dx = num(o.x, 0);
  const dy = num(o.y, 0);
  return {
    x: parentFrame.x + dx,
    y: parentFrame.y + dy,
    w: parentFrame.w,
    h: parentFrame.h,
    containerTransform: { x: dx, y: dy },
  };
}

// The centred rect of `contentAspectRatio` inside the parent; the parent when not finite.
export function fit(parentFrame, params = {}) {
  const ar = params.contentAspectRatio;
  const { x, y, w, h } = parentFrame;
  if (typeof ar !== 'number' || !isFinite(ar) || ar <= 0 || h <= 0) return { x, y, w, h };
  if (w / h > ar) {
    const fw = h * ar;
    return { x: x + (w - fw) / 2, y, w: fw, h };
  }
  const fh = w / ar;
  return { x, y: y + (h - fh) / 2, w, h: fh };
}

function split(parentFrame, params, ctx, vertical) {
  const index = num(params.index, 0);
  const pos = num(params.pos, 0.5);
  const margin = num(params.margin_gu, 0) * pxPerGu(ctx);
  const { x, y, w, h } = parentFrame;
  if (vertical) {
    const w0 = w * pos - margin / 2;
    if (index === 0) return { x, y, w: w0, h };
    const x1 = x + w * pos + margin / 2;
    return { x: x1, y, w: x + w - x1, h };
  }
  const h0 = h * pos - margin / 2;
  if (index === 0) return { x, y, w, h: h0 };
  const y1 = y + h * pos + margin / 2;
  return { x, y: y1, w, h: y + h - y1 };
}

// Side by side: index 0 is the left part (`pos` of the width), 1 the right.
export function splitVertical(parentFrame, params = {}, ctx) {
  return split(parentFrame, params, ctx, true);
}

// Stacked: index 0 is the top part (`pos` of the height), 1 the bottom.
export function splitHorizontal(parentFrame, params = {}, ctx) {
  return split(parentFrame, params, ctx, false);
}

export function splitAcrossLongerDimension(parentFrame, params = {}, ctx) {
  return split(parentFrame, params, ctx, parentFrame.w >= parentFrame.h);
}

// `total` equal items in a column (or a row with makeRow), separated by innerMargin_gu and
// inset by outerMargin_gu. With itemAspectRatio > 0 items keep that aspect (fitted into their
// slot) and with `center` the run of items is centred along the stacking direction.
export function column(parentFrame, params = {}, ctx) {
  const index = num(params.index, 0);
  const total = Math.max(1, num(params.total, 1));
  const makeRow = !!params.makeRow;
  const center = !!params.center;
  const itemAR = num(params.itemAspectRatio, 0);
  const unit = pxPerGu(ctx);
  const inner = num(params.innerMargin_gu, 0.7) * unit;
  const outer = num(params.outerMargin_gu, 0.5) * unit;
  const x0 = parentFrame.x + outer;
  const y0 = parentFrame.y + outer;
  const aw = parentFrame.w - 2 * outer;
  const ah = parentFrame.h - 2 * outer;
  const along = makeRow ? aw : ah;
  const across = makeRow ? ah : aw;
  let slot = (along - inner * (total - 1)) / total;
  let size = across;
  if (itemAR > 0) {
    // along-size for an item of the given aspect at full across-size
    const wanted = makeRow ? across * itemAR : across / itemAR;
    if (wanted < slot) {
      slot = wanted;
    } else {
      size = makeRow ? slot / itemAR : slot * itemAR;
    }
  }
  const used = slot * total + inner * (total - 1);
  const start = center ? (along - used) / 2 : 0;
  const pos = start + index * (slot + inner);
  const acrossOff = (across - size) / 2;
  if (makeRow) return { x: x0 + pos, y: y0 + acrossOff, w: slot, h: size };
  return { x: x0 + acrossOff, y: y0 + pos, w: size, h: slot };
}

export function gridColumns(total) {
  if (total <= 1) return 1;
  if (total <= 4) return 2;
  if (total <= 9) return 3;
  if (total <= 16) return 4;
  return 5;
}

// The VCS video grid. Columns: 1 → 1, 2–4 → 2, 5–9 → 3, 10–16 → 4, 17+ → 5; rows =
// ceil(total/cols). Margins in gu, or -1 for automatic: 5 % of the viewport height
// (landscape) or 4 % of its width (portrait), with the outer vertical margin 0.7× that when
// the grid is square (cols == rows). Items keep the viewport's aspect ratio (unless
// preserveItemAspectRatio is false), the grid is centred in the parent, a partial last row is
// centred, and frames are rounded to integers.
export function grid(parentFrame, params = {}, ctx) {
  const total = Math.max(1, Math.floor(num(params.total, 1)));
  const index = Math.min(Math.max(0, Math.floor(num(params.index, 0))), total - 1);
  const vp = viewportOf(ctx, parentFrame);
  const unit = pxPerGu(ctx);
  const preserve = params.preserveItemAspectRatio !== false;
  const cols = gridColumns(total);
  const rows = Math.ceil(total / cols);
  const auto = vp.w >= vp.h ? vp.h * 0.05 : vp.w * 0.04;
  const innerGu = num(params.innerMargin_gu, -1);
  const outerGu = num(params.outerMargin_gu, -1);
  const inner = innerGu < 0 ? auto : innerGu * unit;
  const outerX = outerGu < 0 ? auto : outerGu * unit;
  const outerY = outerGu < 0 && cols === rows ? auto * 0.7 : outerX;
  const availW = parentFrame.w - 2 * outerX - inner * (cols - 1);
  const availH = parentFrame.h - 2 * outerY - inner * (rows - 1);
  let itemW = Math.max(0, availW / cols);
  let itemH = Math.max(0, availH / rows);
  if (preserve && itemW > 0 && itemH > 0) {
    const ar = vp.w / vp.h;
    if (itemW / itemH > ar) itemW = itemH * ar;
    else itemH = itemW / ar;
  }
  const gridW = itemW * cols + inner * (cols - 1);
  const gridH = itemH * rows + inner * (rows - 1);
  const left = parentFrame.x + (parentFrame.w - gridW) / 2;
  const top = parentFrame.y + (parentFrame.h - gridH) / 2;
  const row = Math.floor(index / cols);
  const col = index % cols;
  let x = left + col * (itemW + inner);
  const inLastRow = total - (rows - 1) * cols;
  if (row === rows - 1 && inLastRow < cols) {
    x += ((cols - inLastRow) * (itemW + inner)) / 2;
  }
  const y = top + row * (itemH + inner);
  const rx = Math.round(x);
  const ry = Math.round(y);
  return { x: rx, y: ry, w: Math.round(x + itemW) - rx, h: Math.round(y + itemH) - ry };
}

// A text table: cell `index` of `numCols` columns, each row `numTextLines` lines of
// `textSize_gu` text (line height 1.5× the text size).
export function simpleLineGrid(parentFrame, params = {}, ctx) {
  const index = Math.max(0, Math.floor(num(params.index, 0)));
  const numCols = Math.max(1, Math.floor(num(params.numCols, 4)));
  const lines = Math.max(1, num(params.numTextLines, 1));
  const rowH = lines * num(params.textSize_gu, 1) * pxPerGu(ctx) * 1.5;
  const colW = parentFrame.w / numCols;
  const col = index % numCols;
  const row = Math.floor(index / numCols);
  return { x: parentFrame.x + col * colW, y: parentFrame.y + row * rowH, w: colW, h: rowH };
}
