// A tiny element builder: h("button.big", {onclick}, "text", child…). No framework to download.
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (props && (typeof props !== "object" || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.className += ` ${value}`;
    else if (key in el && !key.includes("-") && key !== "list") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace a container's content. */
export const mount = (el, ...children) => { el.replaceChildren(); append(el, children); return el; };

/** Icons: simple inline SVG, always shown beside a word (never an icon alone). */
const paths = {
  meal: "M7 3v8a3 3 0 0 0 2 2.8V21h2v-7.2A3 3 0 0 0 13 11V3h-1.5v6h-1V3h-1.5v6h-1V3zM17 3c-1.7 0-3 2.2-3 5v5h2v8h2V3z",
  cleaning: "M19 3l-6 6 2 2 6-6zM12 10l-7 7 2 4 4-1 6-6zM4 20h3",
  escort: "M13 4a2 2 0 1 0 0-.1zM10 8l-3 3 1.5 1.5L10 11v4l-2 6h2l2-5 2 2v3h2v-4l-2-3V10l2 2h3v-2h-2l-3-3z",
  bathing: "M7 4a2 2 0 0 1 4 0v1H9V4H9v7H3v2a6 6 0 0 0 4 5.6V21h2v-2h6v2h2v-2.4A6 6 0 0 0 21 13v-2H11V4a4 4 0 0 0-8 0z",
  medical: "M10 3h4v7h7v4h-7v7h-4v-7H3v-4h7z",
  sos: "M12 2 1 21h22zM11 9h2v6h-2zm0 8h2v2h-2z",
  speak: "M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z",
  gear: "M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7 7 0 0 0-1.7-1L15 3h-4l-.4 2.7a7 7 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7 7 0 0 0 1.7 1L11 21h4l.4-2.7a7 7 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z",
  phone: "M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.6 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.6 3.6a1 1 0 0 1-.25 1z",
  map: "M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z",
};

export function icon(name, size = 40) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", paths[name] || paths.medical);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
