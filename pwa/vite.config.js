import { gzipSync } from "node:zlib";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

const BUDGET_KB = 150;

/** The chunks an entry (by its input name) loads: its own and every chunk it imports (statically or dynamically). */
function chunksOf(bundle, entryName) {
  const byName = new Map(Object.values(bundle).filter((f) => f.type === "chunk").map((f) => [f.fileName, f]));
  const entry = [...byName.values()].find((f) => f.isEntry && f.name === entryName);
  const seen = new Set();
  const walk = (chunk) => {
    if (!chunk || seen.has(chunk.fileName)) return;
    seen.add(chunk.fileName);
    [...chunk.imports, ...chunk.dynamicImports].forEach((name) => walk(byName.get(name)));
  };
  walk(entry);
  return [...seen].map((name) => byName.get(name));
}

const gzipKb = (chunks) => chunks.reduce((sum, c) => sum + gzipSync(c.code, { level: 9 }).length, 0) / 1024;

/** Print each page's JavaScript gzipped (everything its first screen loads) and fail when the phone
 *  app (the seniors' bundle) is over budget. The console is a desktop page: printed, not budgeted. */
function bundleSize() {
  return {
    name: "linli-bundle-size",
    apply: "build",
    generateBundle(_, bundle) {
      const kb = gzipKb(chunksOf(bundle, "main"));
      const consoleKb = gzipKb(chunksOf(bundle, "console"));
      console.log(`\nsenior bundle JavaScript: ${kb.toFixed(1)} KB gzipped (budget ${BUDGET_KB} KB)`);
      console.log(`console bundle JavaScript: ${consoleKb.toFixed(1)} KB gzipped (desktop page, no budget)`);
      if (kb > BUDGET_KB) this.error(`the app's JavaScript is ${kb.toFixed(1)} KB gzipped, over the ${BUDGET_KB} KB budget`);
    },
  };
}

export default defineConfig({
  build: {
    outDir: "dist", emptyOutDir: true, target: "es2020",
    // Two pages: the phone app and the center's console (/console), each its own bundle.
    rollupOptions: { input: { main: "index.html", console: "console.html" } },
  },
  server: { proxy: { "/api": "http://127.0.0.1:5000", "/socket.io": { target: "ws://127.0.0.1:5000", ws: true } } },
  plugins: [
    bundleSize(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: "script",
      includeAssets: ["icon.svg", "apple-touch-icon.png", "push-sw.js"],
      manifest: {
        id: "/",
        name: "邻里 · 居家养老服务",
        short_name: "邻里",
        description: "助餐 助洁 助行 助浴 助医，一键紧急求助",
        lang: "zh-CN",
        start_url: "/",
        scope: "/",
        display: "standalone",
        orientation: "portrait",
        background_color: "#fffdf7",
        theme_color: "#b3261e",
        icons: [
          { src: "/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/api\//, /^\/socket\.io\//, /^\/healthz/, /^\/console(\/|$)/],
        globPatterns: ["**/*.{js,css,html,svg,png,webmanifest}"],
        globIgnores: ["console.html", "assets/console-*"], // the desktop console is not kept on phones
        importScripts: ["/push-sw.js"],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
});
