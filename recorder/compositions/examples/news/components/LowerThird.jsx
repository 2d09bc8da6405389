import * as React from 'react';
import { Box, Text } from '#vcs-react/components';
import { useParams } from '#vcs-react/hooks';

// Slides in from the left edge when a title is set, out again when it is cleared.
export default function LowerThird() {
  const params = useParams();
  const { title, subtitle } = params.lowerThird || {};
  const shown = !!title;
  return (
    <Box id="lowerThird" animationId="lowerThird" layout={[slide, { shown }]} style={{ fillColor: 'rgba(10, 20, 60, 0.9)', strokeColor: '#4cc9f0', strokeWidth_px: 2 }}>
      <Text id="lt-title" layout={[line, { row: 0 }]} style={{ fontSize_gu: 1.6, fontWeight: 700, textColor: '#ffffff' }}>
        {title || ''}
      </Text>
      <Text id="lt-subtitle" layout={[line, { row: 1 }]} style={{ fontSize_gu: 1.1, textColor: '#a8b3cf' }}>
        {subtitle || ''}
      </Text>
    </Box>
  );
}

function slide(parent, { shown }, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const w = Math.min(parent.w * 0.45, 24 * gu);
  const h = 4.6 * gu;
  return { x: shown ? parent.x + 1.5 * gu : parent.x - w - gu, y: parent.y + parent.h - h - 2 * gu, w, h };
}

function line(parent, { row }, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const top = row === 0 ? 0.6 * gu : 2.8 * gu;
  return { x: parent.x + gu, y: parent.y + top, w: parent.w - 2 * gu, h: 2 * gu };
}
