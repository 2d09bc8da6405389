// The built-in `demo` composition: participants in a grid with name labels, a title banner
// and a countdown timer.
import * as React from 'react';
import { Box, Text, Video } from '#vcs-react/components';
import { useActiveVideo, useParams, useVideoTime, useViewportSize } from '#vcs-react/hooks';
import { grid, pad } from '#vcs-stdlib/layouts';

export const compositionInterface = {
  displayMeta: {
    name: 'VCS demo',
    description: 'Participants in a grid with name labels, a title banner and a countdown',
  },
  params: [
    { id: 'title', type: 'text', defaultValue: 'VCS demo', shortHelpText: 'Banner text' },
    {
      id: 'countdownSecs',
      type: 'number',
      defaultValue: 10,
      step: 1,
      shortHelpText: 'Countdown length in seconds',
    },
  ],
};

const BACKGROUND = '#14161f';
const PAUSED_TILE = '#2b2f3d';

export default function DemoComposition() {
  const { activeIds, displayNamesById, pausedById } = useActiveVideo();
  const total = activeIds.length;
  return (
    <Box id="root" style={{ fillColor: BACKGROUND }}>
      {activeIds.map((id, index) => (
        <Box key={id} id={'tile-' + id} layout={[grid, { index, total }]}>
          {pausedById[id] ? (
            // A paused camera (or a live input that stalled) shows as a tile, not a hole.
            <Box id={'paused-' + id} style={{ fillColor: PAUSED_TILE, cornerRadius_px: 8 }} />
          ) : (
            <Video id={'video-' + id} src={id} style={{ cornerRadius_px: 8 }} />
          )}
          <NameLabel name={displayNamesById[id] || id} />
        </Box>
      ))}
      <TitleBanner />
      <Countdown />
    </Box>
  );
}

// Lower-left inside the tile: a dark rounded box sized to the name.
function NameLabel({ name }) {
  return (
    <Box id="label" layout={[labelLayout, { name }]} style={{ fillColor: 'rgba(0,0,0,0.65)', cornerRadius_px: 6 }}>
      <Text id="label-text" layout={[labelTextLayout]} style={{ textColor: '#ffffff', fontSize_gu: 1, fontWeight: 500 }}>
        {name}
      </Text>
    </Box>
  );
}

// The label box is as wide as its text (content size: the text's frame plus its left inset)
// plus the same inset on the right, capped to the tile.
function labelLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const size = ctx.useContentSize();
  const w = Math.min(parent.w - 1.6 * gu, Math.max(size.w + 0.5 * gu, 2 * gu));
  const h = 1.9 * gu;
  return { x: parent.x + 0.8 * gu, y: parent.y + parent.h - h - 0.8 * gu, w, h };
}

function labelTextLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const size = ctx.useIntrinsicSize();
  return { x: parent.x + 0.5 * gu, y: parent.y + (parent.h - size.h) / 2, w: size.w, h: size.h };
}

function TitleBanner() {
  const { title } = useParams();
  const { w } = useViewportSize();
  return (
    <Box id="banner" layout={[bannerLayout, { w }]} style={{ fillColor: '#2f6fed', cornerRadius_px: 10 }}>
      <Text id="banner-text" layout={[pad, { pad_gu: { l: 1, r: 1, t: 0.45, b: 0.3 } }]} style={{ textColor: '#ffffff', fontSize_gu: 1.6, fontWeight: 700, textAlign: 'center' }}>
        {String(title)}
      </Text>
    </Box>
  );
}

function bannerLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const w = Math.round(parent.w * 0.4);
  return { x: parent.x + (parent.w - w) / 2, y: parent.y + gu, w, h: 3 * gu };
}

function formatRemaining(secs) {
  const s = Math.max(0, Math.ceil(secs));
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return mm + ':' + ss;
}

function Countdown() {
  const { countdownSecs } = useParams();
  const t = useVideoTime();
  const remaining = formatRemaining((Number(countdownSecs) || 0) - t);
  return (
    <Box id="countdown" layout={[countdownLayout]} style={{ fillColor: '#e8453c', cornerRadius_px: 10 }}>
      <Text id="countdown-text" layout={[pad, { pad_gu: { l: 0.5, r: 0.5, t: 0.4, b: 0.3 } }]} style={{ textColor: '#ffffff', fontSize_gu: 2.2, fontWeight: 700, textAlign: 'center' }}>
        {remaining}
      </Text>
    </Box>
  );
}

function countdownLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const w = 7 * gu;
  const h = 3.6 * gu;
  return { x: parent.x + parent.w - w - gu, y: parent.y + gu, w, h };
}
