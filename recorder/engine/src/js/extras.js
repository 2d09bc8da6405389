// vcs:extras — VCS's own additions to `#vcs-stdlib/components` (Daily's `debug` is vcs:debug).

import { createElement } from 'vcs:react';
import { Video, useActiveVideo } from 'vcs:runtime';
import { grid } from 'vcs:layouts';

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
