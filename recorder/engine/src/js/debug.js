// vcs:debug — `debug` of #vcs-stdlib/components: printouts of the video inputs and the room's
// peers, laid out as Daily's are (daily-compat.md §1.6).

import { createElement as h, useContext, useMemo } from 'vcs:react';
import { Box, Text, MediaInputContext } from 'vcs:runtime';
import { pad, simpleLineGrid } from 'vcs:layouts';

const HEADER_COLOR = 'rgba(255, 255, 255, 0.68)';

// The frame both printouts share: a filled box, a header line, and the items below it.
function Printout({ id, layout, fill, header, headerTextColor, textSize_gu, items }) {
  return h(
    Box,
    { id, style: { fillColor: fill }, layout },
    h(
      Box,
      { layout: [pad, { pad_gu: { t: 1, l: 1 } }] },
      h(Text, { style: { fontSize_gu: textSize_gu, textColor: headerTextColor } }, header),
      h(Box, { layout: [pad, { pad_gu: { t: 2 } }] }, items),
    ),
  );
}

function MediaInputPrintout({ layout, renderEnv, textSize_gu = 1, headerTextColor = HEADER_COLOR, bgOpacity = 1 }) {
  const media = useContext(MediaInputContext);
  const items = useMemo(() => {
    const slots = (media.activeVideoInputSlots || []).map((s, i) => [s, i]).filter(([s]) => !!s);
    return slots.map(([s, i], index) => {
      const obj = s && typeof s === 'object';
      const id = obj && s.id !== undefined ? s.id : '';
      const type = obj && s.type !== undefined ? s.type : '';
      const share = type === 'screenshare';
      const style = { fontSize_gu: 0.93 * textSize_gu };
      if (share) style.textColor = 'lightblue';
      if (obj && s.paused) {
        style.fontStyle = 'italic';
        style.textColor = share ? 'rgb(160, 120, 255)' : 'pink';
      }
      if (obj && s.dominant) style.fontWeight = '700';
      const line = (obj && s.dominant ? 'D ' : '') + (i + 1) + ': ' + id + ' (' + type + ')';
      return h(
        Text,
        { key: 'slot' + i, style, layout: [simpleLineGrid, { total: slots.length, index, numCols: 4, textSize_gu }] },
        line,
      );
    });
  }, [media, textSize_gu]);
  const vp = media.viewportSize || { w: 0, h: 0 };
  const header =
    'Video inputs' +
    ' '.repeat(9) +
    '[viewport = ' + vp.w + '*' + vp.h + ', px/gu = ' + media.pixelsPerGridUnit +
    (renderEnv ? ', renderEnv = "' + renderEnv + '"' : '') +
    ']';
  return h(Printout, {
    id: 'mediaInput',
    layout,
    fill: 'rgba(100, 0, 0, ' + bgOpacity + ')',
    header,
    headerTextColor,
    textSize_gu,
    items,
  });
}

function trackLine(name, t) {
  if (!t || t.id === undefined || t.id === null) return null;
  return name + ' ' + t.id + (t.paused ? ' (paused)' : '') + (t.dominant ? ' [dominant]' : '');
}

function RoomPrintout({ layout, room, textSize_gu = 1, headerTextColor = HEADER_COLOR, bgOpacity = 1 }) {
  const peers = (room && Array.isArray(room.availablePeers) ? room.availablePeers : []).filter((p) => !!p);
  const items = peers.map((p, index) => {
    const lines = ['id = ' + p.id, '"' + p.displayName + '"'];
    for (const [name, t] of [['video', p.video], ['sshare', p.screenshareVideo], ['audio', p.audio]]) {
      const l = trackLine(name, t);
      if (l) lines.push(l);
    }
    return h(
      Text,
      {
        key: 'peer' + index,
        style: { fontSize_gu: 0.93 * textSize_gu },
        layout: [simpleLineGrid, { total: peers.length, index, numCols: 3, numTextLines: 5, textSize_gu }],
      },
      lines.join('\n'),
    );
  });
  return h(Printout, {
    id: 'room',
    layout,
    fill: 'rgba(20, 10, 80, ' + bgOpacity + ')',
    header: 'Room peers',
    headerTextColor,
    textSize_gu,
    items,
  });
}

export const debug = { MediaInputPrintout, RoomPrintout };
