// An empty override point: a session-assets folder can replace this file
// (components/CustomOverlay.js or components/overrides/CustomOverlay.js) to draw its own
// graphics above the toast and below the title slate.
export default function CustomOverlay() {
  return null;
}
