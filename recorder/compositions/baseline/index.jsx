// The built-in `baseline` composition: Daily's baseline params (baseline-params.md), our
// implementation. Root: background graphics, the video area, foreground graphics.
import * as React from 'react';
import { Box, Emoji, Text, Video } from '#vcs-react/components';
import { useActiveVideo, useAudioOnlyPeers, useGrid, useParams, useViewportSize } from '#vcs-react/hooks';
import { column, grid, splitAcrossLongerDimension, splitHorizontal, splitVertical } from '#vcs-stdlib/layouts';
import { ALL_FONTS, params } from './params.js';
import { BackgroundGraphics, ForegroundGraphics, sidebarInset } from './components/Overlays.jsx';

export const compositionInterface = {
  displayMeta: { name: 'Baseline', description: 'Grid, split, single, dominant and picture-in-picture layouts with overlays' },
  params,
  fontFamilies: ALL_FONTS,
  standardSources: ['chatMessages', 'transcript', 'emojiReactions'],
};

const itemAnim = { properties: ['x', 'y', 'w', 'h'], predicate: 'frame-change-non-zero', function: 'ease-out', duration: 0.3, opacity: { appear: { from: 0, to: 1, duration: 0.3, function: 'ease-out' }, disappear: { from: 1, to: 0, duration: 0.15, function: 'linear' } } };
const fade = (d) => ({ properties: [], opacity: { appear: { from: 0, to: 1, duration: d, function: 'linear' }, disappear: { from: 1, to: 0, duration: d, function: 'linear' } } });

export const layoutAnimations = [
  { animationId: 'grid-item', ...itemAnim },
  { animationId: 'chiclet', ...itemAnim },
  { animationId: 'banner-fade', ...fade(0.35) },
  { animationId: 'slate-fade', ...fade(0.25) },
  { animationId: 'overlay-fade', ...fade(0.3) },
  { animationId: 'toast-fade', properties: [], opacity: { appear: { from: 0, to: 1, duration: 0.6, function: 'linear' }, disappear: { from: 1, to: 0, duration: 0.5, function: 'linear' } } },
];

export default function Baseline() {
  const p = useParams();
  const vp = useViewportSize();
  const { pixelsPerGridUnit: gu } = useGrid();
  const items = useParticipants(p);
  const inset = videoInset(p, vp, gu);
  return (
    <Box id="baselineRoot">
      <BackgroundGraphics p={p} />
      <Box id="videoArea" layout={[insetLayout, inset]}>
        <VideoLayout p={p} items={items} vp={vp} gu={gu} />
      </Box>
      <ForegroundGraphics p={p} />
    </Box>
  );
}

function insetLayout(parent, { l, r, t, b }) {
  return { x: parent.x + l, y: parent.y + t, w: Math.max(0, parent.w - l - r), h: Math.max(0, parent.h - t - b) };
}

function videoInset(p, vp, gu) {
  const m = (k) => (Number(p['videoSettings.margin.' + k]) || 0) * gu;
  const inset = { l: m('left_gu'), r: m('right_gu'), t: m('top_gu'), b: m('bottom_gu') };
  if (p.showSidebar && p['sidebar.shrinkVideoLayout']) {
    const s = sidebarInset(p, vp);
    inset.r += s.r;
    inset.b += s.b;
  }
  return inset;
}

// Video slots first, then audio-only peers; preferred ids first.
function useParticipants(p) {
  const video = useActiveVideo({
    maxCamStreams: Number(p['videoSettings.maxCamStreams']),
    preferScreenshare: !!p['videoSettings.preferScreenshare'],
    omitPaused: !!p['videoSettings.omitPausedVideo'],
    omitExtraScreenshares: !!p['videoSettings.omitExtraScreenshares'],
  });
  const audioOnly = useAudioOnlyPeers();
  const items = video.activeIds.map((id) => ({
    id,
    name: video.displayNamesById[id] || '',
    paused: !!video.pausedById[id],
    screenshare: video.activeScreenshareIds.includes(id),
    dominant: id === video.dominantId,
  }));
  if (!p['videoSettings.omitAudioOnly']) {
    for (const peer of audioOnly) {
      items.push({ id: 'audio-' + peer.id, name: peer.displayName || 'Audio participant', audioOnly: true, dominant: !!(peer.audio && peer.audio.dominant) });
    }
  }
  const preferred = String(p['videoSettings.preferredParticipantIds'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (preferred.length) {
    const rank = (it) => {
      const i = preferred.indexOf(it.id);
      return i < 0 ? preferred.length : i;
    };
    items.sort((a, b) => rank(a) - rank(b));
  }
  return { items, dominantId: video.dominantId, sharing: video.activeScreenshareIds.length > 0 };
}

function VideoLayout({ p, items: { items, dominantId, sharing }, vp, gu }) {
  let mode = p.mode;
  if (mode === 'grid' && sharing && p['videoSettings.grid.useDominantForSharing']) mode = 'dominant';
  if (!items.length) return null;
  const anims = !!p.enableLayoutAnims;
  if (mode === 'single') return <Item p={p} item={items[0]} index={0} gu={gu} />;
  if (mode === 'split') {
    const dir = p['videoSettings.split.direction'];
    const fn = dir === 'vertical' ? splitVertical : dir === 'horizontal' ? splitHorizontal : splitAcrossLongerDimension;
    const modes = String(p['videoSettings.split.scaleModeOverrides'] || '').split(',').map((s) => s.trim());
    return items.slice(0, 2).map((it, index) => (
      <Item key={it.id} p={p} item={it} index={index} gu={gu} scaleMode={modes[index] || undefined} layout={[fn, { index, margin_gu: Number(p['videoSettings.split.margin_gu']) || 0 }]} />
    ));
  }
  if (mode === 'dominant') return <DominantLayout p={p} items={items} dominantId={dominantId} gu={gu} anims={anims} />;
  if (mode === 'pip') {
    const main = p['videoSettings.pip.followDomFlag'] ? items.find((it) => it.dominant) || items[0] : items[0];
    const pip = items.find((it) => it !== main);
    return (
      <Box id="pipRoot">
        <Item p={p} item={main} index={0} gu={gu} sharpCorners={!!p['videoSettings.pip.sharpCornersOnMain']} />
        {pip ? <Item key={pip.id} p={p} item={pip} index={1} gu={gu} layout={[pipLayout, { p, gu }]} /> : null}
      </Box>
    );
  }
  // grid
  const full = Number(p['videoSettings.grid.fullScreenHighlightItemIndex']);
  if (full >= 0 && full < items.length) return <Item p={p} item={items[full]} index={full} gu={gu} />;
  const total = items.length;
  const labelsBelow = p['videoSettings.showParticipantLabels'] && p['videoSettings.grid.labelPlacement'] === 'below';
  return items.map((it, index) => (
    <Item
      key={it.id}
      p={p}
      item={it}
      index={index}
      gu={gu}
      animationId={anims ? 'grid-item' : undefined}
      highlight={!!p['videoSettings.grid.highlightDominant'] && it.dominant && total > 1}
      labelBelow={labelsBelow && total > 1}
      layout={[gridItemLayout, {
        index,
        total,
        innerMargin_gu: Number(p['videoSettings.grid.itemInterval_gu']),
        outerMargin_gu: Number(p['videoSettings.grid.outerPadding_gu']),
        preserveItemAspectRatio: p['videoSettings.grid.preserveAspectRatio'] !== false,
        labelSpace: labelsBelow ? 2 * gu : 0,
      }]}
    />
  ));
}

// The grid cell, leaving room for a label below when labels go below.
function gridItemLayout(parent, params, ctx) {
  const space = params.labelSpace || 0;
  const f = grid({ x: parent.x, y: parent.y, w: parent.w, h: parent.h - space }, params, ctx);
  return { x: f.x, y: f.y, w: f.w, h: f.h };
}

function pipLayout(parent, { p, gu }) {
  const h = (Number(p['videoSettings.pip.height_gu']) || 12) * gu;
  const w = h * (Number(p['videoSettings.pip.aspectRatio']) || 1);
  const m = (Number(p['videoSettings.pip.margin_gu']) || 0) * gu;
  const pos = String(p['videoSettings.pip.position'] || 'top-right');
  const x = pos.endsWith('left') ? parent.x + m : parent.x + parent.w - w - m;
  const y = pos.startsWith('top') ? parent.y + m : parent.y + parent.h - h - m;
  return { x, y, w, h };
}

function DominantLayout({ p, items, dominantId, gu, anims }) {
  const follow = p['videoSettings.dominant.followDomFlag'] !== false;
  const main = (follow && items.find((it) => it.id === dominantId)) || items[0];
  const others = items.filter((it) => it !== main).slice(0, Math.max(0, Number(p['videoSettings.dominant.numChiclets']) || 0));
  const pos = String(p['videoSettings.dominant.position'] || 'left');
  const splitPos = Number(p['videoSettings.dominant.splitPos']) || 0.8;
  const horizontal = pos === 'left' || pos === 'right';
  const mainFirst = pos === 'left' || pos === 'top';
  const split = horizontal ? splitVertical : splitHorizontal;
  const margin = Number(p['videoSettings.dominant.splitMargin_gu']) || 0;
  const mainLayout = others.length ? [split, { index: mainFirst ? 0 : 1, pos: mainFirst ? splitPos : 1 - splitPos, margin_gu: margin }] : undefined;
  const restLayout = [split, { index: mainFirst ? 1 : 0, pos: mainFirst ? splitPos : 1 - splitPos, margin_gu: margin }];
  return (
    <Box id="dominantRoot">
      <Item p={p} item={main} index={0} gu={gu} layout={mainLayout} sharpCorners={!!p['videoSettings.dominant.sharpCornersOnMain']} />
      {others.length ? (
        <Box id="chiclets" layout={restLayout}>
          {others.map((it, index) => (
            <Item key={it.id} p={p} item={it} index={index + 1} gu={gu} animationId={anims ? 'chiclet' : undefined} layout={[column, {
              index,
              total: others.length,
              makeRow: !horizontal,
              center: !!p['videoSettings.dominant.centerItems'],
              itemAspectRatio: 16 / 9,
              innerMargin_gu: Number(p['videoSettings.dominant.itemInterval_gu']),
              outerMargin_gu: Number(p['videoSettings.dominant.outerPadding_gu']),
            }]} />
          ))}
        </Box>
      ) : null}
    </Box>
  );
}

function zoomFor(p, index) {
  const list = String(p['videoSettings.zoomFactorsList'] || '').split(',').map((s) => parseFloat(s));
  const z = list[index];
  return isFinite(z) && z > 0 ? z : 1;
}

// One participant: video (or a placeholder), highlight stroke and label.
function Item({ p, item, index, gu, layout, scaleMode, sharpCorners, highlight, labelBelow, animationId }) {
  const radius = p['videoSettings.roundedCorners'] && !sharpCorners ? (Number(p['videoSettings.cornerRadius_gu']) || 0) * gu : 0;
  const mode = scaleMode || (item.screenshare ? p['videoSettings.scaleModeForScreenshare'] : p['videoSettings.scaleMode']);
  const showLabel = !!p['videoSettings.showParticipantLabels'];
  return (
    <Box id={'item-' + item.id} animationId={animationId} layout={layout}>
      {item.audioOnly || item.paused ? (
        <Box id={'placeholder-' + item.id} style={{ fillColor: p['videoSettings.placeholder.bgColor'], cornerRadius_px: radius }}>
          <Emoji value="👤" layout={[iconLayout, { gu }]} />
        </Box>
      ) : (
        <Video id={'video-' + item.id} src={item.id} scaleMode={mode === 'fit' ? 'fit' : 'fill'} zoom={zoomFor(p, index)} style={{ cornerRadius_px: radius }} />
      )}
      {highlight ? (
        <Box id={'highlight-' + item.id} style={{ strokeColor: p['videoSettings.highlight.color'], strokeWidth_px: (Number(p['videoSettings.highlight.stroke_gu']) || 0) * gu, cornerRadius_px: radius }} />
      ) : null}
      {showLabel ? <Label p={p} name={item.name} below={!!labelBelow} gu={gu} /> : null}
    </Box>
  );
}

function iconLayout(parent, { gu }) {
  const s = Math.min(parent.w, parent.h, 6 * gu) * 0.5;
  return { x: parent.x + (parent.w - s) / 2, y: parent.y + (parent.h - s) / 2, w: s, h: s };
}

function Label({ p, name, below, gu }) {
  const size = (Number(p['videoSettings.labels.fontSize_pct']) || 100) / 100;
  const style = {
    textColor: p['videoSettings.labels.color'],
    strokeColor: p['videoSettings.labels.strokeColor'],
    strokeWidth_px: 0.25 * gu,
    fontFamily: p['videoSettings.labels.fontFamily'],
    fontWeight: p['videoSettings.labels.fontWeight'],
    fontSize_gu: 1.1 * size,
    textAlign: below ? 'center' : 'left',
  };
  return (
    <Text id="label" style={style} layout={[labelLayout, {
      below,
      gu,
      dx: (Number(p['videoSettings.labels.offset_x_gu']) || 0) * gu,
      dy: (Number(p['videoSettings.labels.offset_y_gu']) || 0) * gu,
      size,
    }]}>
      {name}
    </Text>
  );
}

function labelLayout(parent, { below, gu, dx, dy, size }) {
  const h = 1.6 * gu * size;
  if (below) return { x: parent.x + dx, y: parent.y + parent.h + 0.3 * gu + dy, w: parent.w, h };
  return { x: parent.x + 0.8 * gu + dx, y: parent.y + parent.h - h - 0.6 * gu + dy, w: parent.w - 1.6 * gu, h };
}

