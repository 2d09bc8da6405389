// Example folder composition: a featured speaker with a sidebar, a lower third that slides in
// when its text is set, a logo, and the latest chat message. Shows relative imports,
// layout animations, images with sidecar sizes and standard sources.
import * as React from 'react';
import { Box, Image, Video } from '#vcs-react/components';
import { useActiveVideo, useParams } from '#vcs-react/hooks';
import { column, pad, splitVertical } from '#vcs-stdlib/layouts';
import LowerThird from './components/LowerThird';
import Chat from './components/Chat';

export const compositionInterface = {
  displayMeta: { name: 'News', description: 'Featured speaker, sidebar, lower third and chat' },
  params: [
    { id: 'lowerThird.title', type: 'text', defaultValue: '' },
    { id: 'lowerThird.subtitle', type: 'text', defaultValue: '' },
    { id: 'showLogo', type: 'boolean', defaultValue: true },
  ],
  standardSources: ['chatMessages'],
  imagePreloads: ['logo'],
};

export const layoutAnimations = [
  { animationId: 'lowerThird', properties: ['x'], predicate: 'frame-change-any', function: 'ease-out', duration: 0.5 },
  { animationId: 'sidebar', properties: ['x', 'y', 'w', 'h'], function: 'ease-in-out', duration: 0.4 },
];

export default function News() {
  const { activeIds, dominantId } = useActiveVideo();
  const { showLogo } = useParams();
  const featured = dominantId || activeIds[0];
  const others = activeIds.filter((id) => id !== featured);
  return (
    <Box id="root" style={{ fillColor: '#0b1020' }}>
      <Box id="main" layout={[splitVertical, { index: 0, pos: others.length ? 0.75 : 1 }]}>
        {featured !== undefined ? <Video id="featured" src={featured} layout={[pad, { pad_gu: 1 }]} style={{ cornerRadius_px: 6 }} /> : null}
      </Box>
      {others.length ? (
        <Box id="sidebar" layout={[splitVertical, { index: 1, pos: 0.75 }]}>
          {others.map((id, index) => (
            <Video key={id} id={'side-' + id} src={id} layout={[column, { index, total: others.length, itemAspectRatio: 16 / 9 }]} />
          ))}
        </Box>
      ) : null}
      <LowerThird />
      <Chat />
      {showLogo ? <Image id="logo" src="logo" layout={[logoLayout]} /> : null}
    </Box>
  );
}

function logoLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const size = ctx.useIntrinsicSize();
  const h = 2.5 * gu;
  const w = size.w > 0 && size.h > 0 ? (h * size.w) / size.h : h;
  return { x: parent.x + 1.5 * gu, y: parent.y + 1.5 * gu, w, h };
}
