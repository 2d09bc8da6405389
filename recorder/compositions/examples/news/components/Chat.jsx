import * as React from 'react';
import { Box, Text } from '#vcs-react/components';
import { useStandardSources } from '#vcs-react/hooks';

// The latest chat message, top right, while there is one.
export default function Chat() {
  const { chatMessages } = useStandardSources();
  const latest = chatMessages.latest[chatMessages.latest.length - 1];
  if (!latest) return null;
  return (
    <Box id="chat" layout={[chatLayout]} style={{ fillColor: 'rgba(0,0,0,0.6)', cornerRadius_px: 8 }}>
      <Text id="chat-text" layout={[inset]} style={{ fontSize_gu: 1, textColor: '#ffffff' }}>
        {latest.senderDisplayName + ': ' + latest.text}
      </Text>
    </Box>
  );
}

function chatLayout(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  const w = 16 * gu;
  return { x: parent.x + parent.w - w - 1.5 * gu, y: parent.y + 1.5 * gu, w, h: 4 * gu };
}

function inset(parent, params, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  return { x: parent.x + 0.7 * gu, y: parent.y + 0.5 * gu, w: parent.w - 1.4 * gu, h: parent.h - gu };
}
