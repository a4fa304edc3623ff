// Per-phone display settings: language, text size (three steps), high contrast. Nothing personal.
import { setLang } from "./i18n.js";

const KEY = "linli.settings";
const defaults = { lang: null, size: 0, contrast: false };
export const settings = { ...defaults, ...JSON.parse(localStorage.getItem(KEY) || "{}") };

export function applySettings(userLocale) {
  setLang(settings.lang || (userLocale && userLocale.startsWith("en") ? "en" : "zh"));
  document.documentElement.dataset.size = String(settings.size);
  document.documentElement.dataset.contrast = settings.contrast ? "high" : "normal";
}

export function saveSetting(key, value) {
  settings[key] = value;
  localStorage.setItem(KEY, JSON.stringify(settings));
}

let speaking = false;
/** 朗读: read the screen's main text (elements marked data-speak) with the zh-CN (or en) voice. */
export function readAloud(root, lang) {
  const synth = window.speechSynthesis;
  if (!synth) return false;
  if (speaking) { synth.cancel(); speaking = false; return false; }
  const text = [...root.querySelectorAll("[data-speak]")].map((el) => el.dataset.speak || el.textContent)
    .map((s) => s.trim()).filter(Boolean).join("。");
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = lang === "en" ? "en-US" : "zh-CN";
  utterance.rate = 0.9;
  utterance.onend = utterance.onerror = () => { speaking = false; };
  speaking = true;
  synth.cancel();
  synth.speak(utterance);
  return true;
}
