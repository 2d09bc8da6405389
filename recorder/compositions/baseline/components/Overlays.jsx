// Baseline graphics. Foreground, bottom to top: text overlay, image overlay, web frame,
// banner, toast, CustomOverlay, title slate, sidebar, opening slate, emoji reactions, closing
// slate (postroll), room debug. Fades use the composition's layout animations.
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';
import { Box, Emoji, Image, Text, WebFrame } from '#vcs-react/components';
import { useActiveVideo, useGrid, useStandardSources, useVideoPlaybackState, useVideoTime, useViewportSize } from '#vcs-react/hooks';
import CustomOverlay from './CustomOverlay.js';

const num = (v, d = 0) => (typeof v === 'number' && isFinite(v) ? v : isFinite(parseFloat(v)) ? parseFloat(v) : d);
const italic = (s) => (s === 'italic' ? 'italic' : '');

export function sidebarInset(p, vp) {
  if (vp.w >= vp.h) return { r: (vp.w * num(p['sidebar.width_pct_landscape'], 30)) / 100, b: 0 };
  return { r: 0, b: (vp.h * num(p['sidebar.height_pct_portrait'], 25)) / 100 };
}

export function BackgroundGraphics({ p }) {
  return (
    <Box id="backgroundGraphics">
      {p.showImageOverlay && p['image.zPosition'] === 'background' ? <ImageOverlay p={p} /> : null}
      {p.showWebFrameOverlay && p['webFrame.zPosition'] === 'background' ? <WebFrameOverlay p={p} /> : null}
    </Box>
  );
}

export function ForegroundGraphics({ p }) {
  const playback = useVideoPlaybackState();
  return (
    <Box id="foregroundGraphics">
      {p.showTextOverlay ? <TextOverlay p={p} /> : null}
      {p.showImageOverlay && p['image.zPosition'] !== 'background' ? <ImageOverlay p={p} /> : null}
      {p.showWebFrameOverlay && p['webFrame.zPosition'] !== 'background' ? <WebFrameOverlay p={p} /> : null}
      {p.showBannerOverlay ? <Banner p={p} /> : null}
      <Toast p={p} />
      <CustomOverlay />
      {p.showTitleSlate ? <Slate p={p} prefix="titleSlate" animate={p['titleSlate.enableTransition'] !== false} /> : null}
      {p.showSidebar ? <Sidebar p={p} /> : null}
      {p.enableAutoOpeningSlate ? <OpeningSlate p={p} /> : null}
      <EmojiReactions p={p} />
      {playback === 'postroll' ? <ClosingSlate p={p} /> : null}
      {p['debug.showRoomState'] ? <RoomDebug p={p} /> : null}
    </Box>
  );
}

// Lines from a source: the highlight lines param, or the latest chat/transcript messages.
function useLines(p, source) {
  const sources = useStandardSources();
  if (source === 'chatMessages' || source === 'transcript') {
    const s = sources[source];
    return { lines: (s ? s.latest : []).map((m) => (m.senderDisplayName ? m.senderDisplayName + ': ' : '') + m.text), highlight: -1 };
  }
  if (source === 'highlightLines.items') {
    return { lines: String(p['highlightLines.items'] || '').split('\n').filter((l) => l.trim()), highlight: num(p['highlightLines.position'], 0) };
  }
  return null;
}

function cornerLayout(parent, { position, w, h, margin }) {
  const pos = String(position || 'top-right');
  const x = pos.endsWith('left') ? parent.x + margin : parent.x + parent.w - w - margin;
  const y = pos.startsWith('top') ? parent.y + margin : parent.y + parent.h - h - margin;
  return { x, y, w, h };
}

function TextOverlay({ p }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const src = useLines(p, p['text.source']);
  const lines = src ? src.lines : [String(p['text.content'] || '')];
  const size = num(p['text.fontSize_gu'], 2.5);
  const lh = size * gu * 1.3;
  const style = (hl) => ({
    textColor: hl ? p['text.highlight.color'] : p['text.color'],
    strokeColor: p['text.strokeColor'],
    strokeWidth_px: num(p['text.stroke_gu'], 0) * gu,
    fontFamily: p['text.fontFamily'],
    fontWeight: hl ? p['text.highlight.fontWeight'] : p['text.fontWeight'],
    fontStyle: italic(p['text.fontStyle']),
    fontSize_gu: size,
    textAlign: p['text.align_horizontal'],
  });
  const total = lines.length;
  return (
    <Box id="textOverlay" transform={{ rotate_deg: num(p['text.rotation_deg'], 0), scaleX: num(p['text.scale_x'], 1) }} layout={[textBlockLayout, { p, gu, h: lh * total }]}>
      {lines.map((line, i) => (
        <Text key={i} id={'textOverlay-' + i} style={style(src && i === src.highlight)} layout={[(f) => ({ x: f.x, y: f.y + i * lh, w: f.w, h: lh })]}>
          {line}
        </Text>
      ))}
    </Box>
  );
}

function textBlockLayout(parent, { p, gu, h }) {
  const m = 2 * gu;
  const v = p['text.align_vertical'];
  const y = v === 'top' ? parent.y + m : v === 'bottom' ? parent.y + parent.h - h - m : parent.y + (parent.h - h) / 2;
  return { x: parent.x + m + num(p['text.offset_x_gu'], 0) * gu, y: y + num(p['text.offset_y_gu'], 0) * gu, w: parent.w - 2 * m, h };
}

function ImageOverlay({ p }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const full = !!p['image.fullScreen'];
  const h = num(p['image.height_gu'], 12) * gu;
  const layout = full ? undefined : [cornerLayout, { position: p['image.position'], w: h * num(p['image.aspectRatio'], 1.778), h, margin: num(p['image.margin_gu'], 0) * gu }];
  const emoji = String(p['image.emoji'] || '');
  return (
    <Box id="imageOverlay" animationId={p['image.enableFade'] ? 'overlay-fade' : undefined} layout={layout} blend={{ opacity: num(p['image.opacity'], 1) }}>
      {emoji ? <Emoji value={emoji} /> : <Image src={p['image.assetName']} scaleMode={full ? p['image.fullScreenScaleMode'] : 'fit'} />}
    </Box>
  );
}

function WebFrameOverlay({ p }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const vw = num(p['webFrame.viewportWidth_px'], 1280);
  const vh = num(p['webFrame.viewportHeight_px'], 720);
  const full = !!p['webFrame.fullScreen'];
  const h = num(p['webFrame.height_gu'], 12) * gu;
  const layout = full ? undefined : [cornerLayout, { position: p['webFrame.position'], w: (h * vw) / vh, h, margin: num(p['webFrame.margin_gu'], 0) * gu }];
  const modifiers = String(p['webFrame.keyPress.modifiers'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  const key = num(p['webFrame.keyPress.key'], 0);
  return (
    <Box id="webFrameOverlay" animationId={p['webFrame.enableFade'] ? 'overlay-fade' : undefined} layout={layout} blend={{ opacity: num(p['webFrame.opacity'], 1) }}>
      <WebFrame
        src={String(p['webFrame.url'] || '')}
        viewportSize={{ w: vw, h: vh }}
        keyPressAction={key > 0 ? { name: String(p['webFrame.keyPress.keyName'] || ''), key: p['webFrame.keyPress.keyName'] + '#' + key, modifiers } : undefined}
      />
    </Box>
  );
}

function Banner({ p }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const vp = useViewportSize();
  const src = useLines(p, p['banner.source']);
  let title = String(p['banner.title'] || '');
  let subtitle = String(p['banner.subtitle'] || '');
  if (src) {
    const i = src.highlight >= 0 ? src.highlight : src.lines.length - 1;
    title = src.lines[i] || '';
    subtitle = '';
  }
  const pad = num(p['banner.padding_gu'], 2) * gu;
  const icon = p['banner.showIcon'] ? bannerIcon(p, 'banner') : null;
  const iconSize = icon ? num(p['banner.icon.size_gu'], 3) * gu : 0;
  const maxW = (vp.w * num(vp.w >= vp.h ? p['banner.maxW_pct_default'] : p['banner.maxW_pct_portrait'], 65)) / 100;
  const textStyle = (kind) => ({
    textColor: p['banner.text.color'],
    strokeColor: p['banner.text.strokeColor'],
    strokeWidth_px: num(p['banner.text.stroke_gu'], 0) * gu,
    fontFamily: p['banner.text.fontFamily'],
    fontWeight: p['banner.' + kind + '.fontWeight'],
    fontStyle: italic(p['banner.' + kind + '.fontStyle']),
    fontSize_gu: num(p['banner.' + kind + '.fontSize_gu'], 2),
  });
  const textX = pad + (icon ? iconSize + pad / 2 : 0);
  const titleH = num(p['banner.title.fontSize_gu'], 2) * gu * 1.3;
  const subH = subtitle ? num(p['banner.subtitle.fontSize_gu'], 1.5) * gu * 1.3 : 0;
  return (
    <Box
      id="banner"
      animationId={p['banner.enableTransition'] !== false ? 'banner-fade' : undefined}
      transform={{ rotate_deg: num(p['banner.rotation_deg'], 0) }}
      style={{ fillColor: p['banner.color'], strokeColor: p['banner.strokeColor'], strokeWidth_px: num(p['banner.stroke_gu'], 0) * gu, cornerRadius_px: num(p['banner.cornerRadius_gu'], 0) * gu }}
      layout={[bannerLayout, { p, gu, pad, maxW, h: Math.max(titleH + subH, iconSize) + 2 * pad }]}
    >
      {icon ? <IconNode icon={icon} layout={[(f) => ({ x: f.x + pad, y: f.y + (f.h - iconSize) / 2, w: iconSize, h: iconSize })]} /> : null}
      <Text id="banner-title" style={textStyle('title')} layout={[bannerTextLayout, { x: textX, y: pad, h: titleH, pad, maxW }]}>
        {title}
      </Text>
      {subtitle ? (
        <Text id="banner-subtitle" style={textStyle('subtitle')} layout={[bannerTextLayout, { x: textX, y: pad + titleH, h: subH, pad, maxW }]}>
          {subtitle}
        </Text>
      ) : null}
    </Box>
  );
}

function bannerIcon(p, prefix) {
  const asset = String(p[prefix + '.icon.assetName'] || '');
  if (asset) return { asset };
  const emoji = String(p[prefix + '.icon.emoji'] || '');
  return emoji ? { emoji } : null;
}

function IconNode({ icon, layout }) {
  return icon.asset ? <Image src={icon.asset} layout={layout} /> : <Emoji value={icon.emoji} layout={layout} />;
}

// Sized to its content (second layout pass) within the max width, or always the max width.
function bannerLayout(parent, { p, gu, pad, maxW, h }, ctx) {
  const content = ctx.useContentSize();
  const w = p['banner.alwaysUseMaxW'] ? maxW : Math.min(maxW, Math.max(content.w + pad, 4 * gu));
  return offsetCorner(parent, p['banner.position'], w, h, num(p['banner.margin_x_gu'], 0) * gu, num(p['banner.margin_y_gu'], 0) * gu);
}

function offsetCorner(parent, position, w, h, mx, my) {
  const pos = String(position || 'bottom-left');
  const x = pos.endsWith('left') ? parent.x + mx : parent.x + parent.w - w - mx;
  const y = pos.startsWith('top') ? parent.y + my : parent.y + parent.h - h - my;
  return { x, y, w, h };
}

function bannerTextLayout(parent, { x, y, h, pad, maxW }, ctx) {
  const size = ctx.useIntrinsicSize();
  return { x: parent.x + x, y: parent.y + y, w: Math.min(size.w, maxW - x - pad), h };
}

// Toasts queue up keyed by `toast.key` (at most 10); the head shows for duration_secs.
function Toast({ p }) {
  const key = num(p['toast.key'], 0);
  const [queue, setQueue] = useState([]);
  const lastKey = useRef(key);
  const sources = useStandardSources();
  useEffect(() => {
    if (key > lastKey.current) {
      const source = p['toast.source'];
      let text = String(p['toast.text'] || '');
      if (source === 'chatMessages' || source === 'transcript') {
        const latest = sources[source].latest[sources[source].latest.length - 1];
        text = latest ? latest.text : '';
      }
      setQueue((q) => q.concat([{ key, text }]).slice(-10));
    }
    lastKey.current = key;
  }, [key]);
  if (!queue.length) return null;
  const head = queue[0];
  return <ToastItem key={head.key} p={p} text={head.text} onDone={() => setQueue((q) => q.slice(1))} />;
}

function ToastItem({ p, text, onDone }) {
  const t = useVideoTime();
  const start = useRef(t);
  const { pixelsPerGridUnit: gu } = useGrid();
  const vp = useViewportSize();
  const duration = num(p['toast.duration_secs'], 4);
  const elapsed = t - start.current;
  useEffect(() => {
    if (elapsed >= duration) onDone();
  }, [elapsed >= duration]);
  const fadeIn = Math.min(1, elapsed / 0.6);
  const fadeOut = Math.min(1, Math.max(0, (duration - elapsed) / 0.5));
  const maxW = (vp.w * num(vp.w >= vp.h ? p['toast.maxW_pct_default'] : p['toast.maxW_pct_portrait'], 50)) / 100;
  const icon = p['toast.showIcon'] ? bannerIcon(p, 'toast') : null;
  const iconSize = icon ? num(p['toast.icon.size_gu'], 3) * gu : 0;
  const size = (num(p['toast.text.fontSize_pct'], 100) / 100) * 1.6;
  return (
    <Box id="toast" blend={{ opacity: Math.min(fadeIn, fadeOut) }} style={{ fillColor: p['toast.color'], strokeColor: p['toast.strokeColor'], strokeWidth_px: 0.1 * gu, cornerRadius_px: gu }} layout={[toastLayout, { w: maxW, h: Math.max(iconSize, size * gu * 1.4) + 2 * gu }]}>
      {icon ? <IconNode icon={icon} layout={[(f) => ({ x: f.x + gu, y: f.y + (f.h - iconSize) / 2, w: iconSize, h: iconSize })]} /> : null}
      <Text id="toast-text" style={{ textColor: p['toast.text.color'], fontFamily: p['toast.text.fontFamily'], fontWeight: p['toast.text.fontWeight'], fontSize_gu: size }} layout={[(f) => ({ x: f.x + gu + (icon ? iconSize + gu : 0), y: f.y + gu, w: f.w - 2 * gu - (icon ? iconSize + gu : 0), h: f.h - 2 * gu })]}>
        {text}
      </Text>
    </Box>
  );
}

function toastLayout(parent, { w, h }, ctx) {
  const gu = ctx.pixelsPerGridUnit;
  return { x: parent.x + (parent.w - w) / 2, y: parent.y + 2 * gu, w, h };
}

function Slate({ p, prefix, animate, title, opacity }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const size = num(p[prefix + '.fontSize_gu'], 2.5);
  const bgImage = String(p[prefix + '.bgImageAssetName'] || '');
  const subtitle = String(p[prefix + '.subtitle'] || '');
  const text = (sub) => ({
    textColor: p[prefix + '.textColor'],
    fontFamily: p[prefix + '.fontFamily'],
    fontWeight: sub ? p[prefix + '.subtitle.fontWeight'] : p[prefix + '.fontWeight'],
    fontStyle: italic(p[prefix + '.fontStyle']),
    fontSize_gu: sub ? (size * num(p[prefix + '.subtitle.fontSize_pct'], 75)) / 100 : size,
    textAlign: 'center',
  });
  return (
    <Box id={prefix} animationId={animate ? 'slate-fade' : undefined} blend={{ opacity: opacity === undefined ? 1 : opacity }} style={{ fillColor: p[prefix + '.bgColor'] }}>
      {bgImage ? <Image src={bgImage} scaleMode="fill" /> : null}
      <Text id={prefix + '-title'} style={text(false)} layout={[(f) => ({ x: f.x + 2 * gu, y: f.y + f.h / 2 - size * gu * 1.5, w: f.w - 4 * gu, h: size * gu * 1.4 })]}>
        {title === undefined ? String(p[prefix + '.title'] || '') : title}
      </Text>
      {subtitle ? (
        <Text id={prefix + '-subtitle'} style={text(true)} layout={[(f) => ({ x: f.x + 2 * gu, y: f.y + f.h / 2 + 0.2 * gu, w: f.w - 4 * gu, h: size * gu * 1.2 })]}>
          {subtitle}
        </Text>
      ) : null}
    </Box>
  );
}

// Shown from the start for openingSlate.duration_secs, then faded out and unmounted.
function OpeningSlate({ p }) {
  const [done, setDone] = useState(false);
  return done ? null : <OpeningSlateTimed p={p} onDone={() => setDone(true)} />;
}

function OpeningSlateTimed({ p, onDone }) {
  const t = useVideoTime();
  const d = num(p['openingSlate.duration_secs'], 4);
  useEffect(() => {
    if (t >= d) onDone();
  }, [t >= d]);
  // shown from the first frame; fades out over its last 0.25 s
  return <Slate p={p} prefix="openingSlate" animate={false} opacity={Math.min(1, Math.max(0, (d - t) / 0.25))} />;
}

// In postroll: the opening slate's look fades in over the last frames.
function ClosingSlate({ p }) {
  return <Slate p={p} prefix="openingSlate" title="" animate />;
}

function Sidebar({ p }) {
  const { pixelsPerGridUnit: gu } = useGrid();
  const vp = useViewportSize();
  const src = useLines(p, p['sidebar.source']) || { lines: [], highlight: -1 };
  const inset = sidebarInset(p, vp);
  const pad = num(p['sidebar.padding_gu'], 1.5) * gu;
  const size = num(p['sidebar.fontSize_gu'], 1.4);
  const lh = size * gu * 1.5;
  const n = src.lines.length;
  return (
    <Box id="sidebar" style={{ fillColor: p['sidebar.bgColor'] }} layout={[(f) => (inset.r > 0 ? { x: f.x + f.w - inset.r, y: f.y, w: inset.r, h: f.h } : { x: f.x, y: f.y + f.h - inset.b, w: f.w, h: inset.b })]}>
      {src.lines.map((line, i) => {
        const hl = i === src.highlight;
        return (
          <Text
            key={i}
            id={'sidebar-' + i}
            style={{ textColor: hl ? p['sidebar.textHighlight.color'] : p['sidebar.textColor'], fontFamily: p['sidebar.fontFamily'], fontWeight: hl ? p['sidebar.textHighlight.fontWeight'] : p['sidebar.fontWeight'], fontStyle: italic(p['sidebar.fontStyle']), fontSize_gu: size }}
            layout={[(f) => ({ x: f.x + pad, y: f.y + f.h - pad - (n - i) * lh, w: f.w - 2 * pad, h: lh })]}
          >
            {line}
          </Text>
        );
      })}
    </Box>
  );
}

// Up to 50 emoji floating up from the bottom centre for 3 s each.
function EmojiReactions({ p }) {
  const { emojiReactions } = useStandardSources();
  const [floating, setFloating] = useState([]);
  const seen = useRef(new Set());
  const paramKey = num(p['emojiReactions.key'], 0);
  const lastParamKey = useRef(paramKey);
  useEffect(() => {
    const add = [];
    if (p['emojiReactions.source'] === 'param') {
      if (paramKey > lastParamKey.current && p['emojiReactions.emoji']) add.push({ key: 'p' + paramKey, emoji: String(p['emojiReactions.emoji']) });
      lastParamKey.current = paramKey;
    } else {
      for (const m of emojiReactions.latest) {
        const k = 'm' + m.key;
        if (!seen.current.has(k)) {
          seen.current.add(k);
          add.push({ key: k, emoji: String(m.text || '') });
        }
      }
    }
    if (add.length) setFloating((f) => f.concat(add).slice(-50));
  }, [emojiReactions, paramKey]);
  if (!floating.length) return null;
  return <FloatingEmoji p={p} items={floating} onExpire={(keys) => setFloating((f) => f.filter((x) => !keys.includes(x.key)))} />;
}

function FloatingEmoji({ p, items, onExpire }) {
  const t = useVideoTime();
  const { pixelsPerGridUnit: gu } = useGrid();
  const starts = useRef(new Map());
  for (const it of items) if (!starts.current.has(it.key)) starts.current.set(it.key, t);
  const expired = items.filter((it) => t - starts.current.get(it.key) > 3).map((it) => it.key);
  useEffect(() => {
    if (expired.length) onExpire(expired);
  }, [expired.join(',')]);
  const dx = num(p['emojiReactions.offset_x_gu'], 0) * gu;
  return (
    <Box id="emojiReactions">
      {items.map((it, i) => {
        const age = t - starts.current.get(it.key);
        const jitter = (((i * 7919) % 13) - 6) * gu;
        return (
          <Emoji key={it.key} value={it.emoji} blend={{ opacity: Math.max(0, 1 - age / 3) }} layout={[(f) => ({ x: f.x + f.w / 2 - 1.5 * gu + dx + jitter, y: f.y + f.h - 4 * gu - age * f.h * 0.25, w: 3 * gu, h: 3 * gu })]} />
        );
      })}
    </Box>
  );
}

function RoomDebug({ p }) {
  const { activeIds, dominantId } = useActiveVideo();
  const { pixelsPerGridUnit: gu } = useGrid();
  const lines = ['mode: ' + p.mode, 'active: ' + activeIds.join(', '), 'dominant: ' + (dominantId || '-')];
  return (
    <Box id="roomDebug" blend={{ opacity: num(p['debug.overlayOpacity'], 90) / 100 }} style={{ fillColor: 'rgba(0, 0, 0, 0.8)' }} layout={[(f) => ({ x: f.x + gu, y: f.y + gu, w: f.w * 0.4, h: lines.length * 1.6 * gu + gu })]}>
      {lines.map((l, i) => (
        <Text key={i} style={{ fontSize_gu: 1, textColor: '#0f0' }} layout={[(f) => ({ x: f.x + 0.5 * gu, y: f.y + 0.5 * gu + i * 1.6 * gu, w: f.w - gu, h: 1.6 * gu })]}>
          {l}
        </Text>
      ))}
    </Box>
  );
}
